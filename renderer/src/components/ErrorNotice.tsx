import type { AppError } from '../../../preload/contract';

/** An error as the operator should read it: what happened and what to do, with its code. */
export function ErrorNotice({ error, onDismiss }: { error: AppError | null; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div className="notice notice-error" role="alert" data-error-code={error.code}>
      <strong>{error.message}</strong>
      <span className="notice-code">{error.code}</span>
      {onDismiss ? (
        <button type="button" className="link" onClick={onDismiss}>
          Dismiss
        </button>
      ) : null}
    </div>
  );
}
