/**
 * The Overview: where an operator starts. One request returns what needs attention, each item
 * with the screen where it is handled. New capabilities add an item (main/overview/) and, for a
 * new screen, a link target here; the screen renders items generically.
 */
import { noArguments } from './common';

/** Screens an Overview item can link to (the renderer's navigation names). */
export const OVERVIEW_LINKS = ['overview', 'audit', 'guardians', 'approvals', 'keysets', 'ceremony', 'policy', 'backups', 'drills', 'queue'] as const;
export type OverviewLink = (typeof OVERVIEW_LINKS)[number];

/** ok: nothing to do; attention: the operator should act; idle: not set up yet. */
export type OverviewTone = 'ok' | 'attention' | 'idle';

export interface OverviewItem {
  /** Stable id ("guardians", "keysets", "approvals", …) for tests and keys. */
  id: string;
  title: string;
  tone: OverviewTone;
  /** One line that says the state: "3 of 3 enrolled", "2 waiting, the first expires in 12 min". */
  headline: string;
  /** Further facts, one line each. */
  lines: string[];
  link: OverviewLink | null;
  /** The link's words: "Open Guardians", "Review approvals". */
  action: string;
}

export interface ChecklistStep {
  id: string;
  label: string;
  done: boolean;
  /** False for a step whose capability this version does not have yet (it cannot be done here). */
  available: boolean;
  /** Why it is not done yet or not available in this version, or what was done. */
  note: string;
  link: OverviewLink | null;
}

export interface OverviewView {
  items: OverviewItem[];
  /** First-run checklist; every step done means the vault is fully set up. */
  checklist: ChecklistStep[];
  /** Main's clock, so "time left" is not the renderer's guess. */
  now: string;
}

export const overviewChannels = {
  'overview.get': { request: noArguments, activity: false },
} as const;

export interface OverviewResponses {
  'overview.get': OverviewView;
}
