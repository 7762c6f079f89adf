/**
 * How a caller (a job) follows a long backup or restore: the step in words, and the moment right
 * before the first write. `writing` throws when a stop was asked for (nothing is written then);
 * once it returned, the step is not stopped.
 */
export interface BackupSteps {
  phase(words: string): void;
  writing(why: string): void;
}
