/**
 * The "exported" mark: a keyset whose full private key left the cluster through an emergency exit
 * is a single point of failure from then on, and every screen that shows the keyset says so.
 */
import { useEffect, useState } from 'react';
import { api } from '../api';
import { Time } from './Time';

/** keyset id → when its key was exported (keysets never exported are absent). */
export function useExportedKeysets(): Map<string, string> {
  const [exported, setExported] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    void api.cluster.keysets({}).then((r) => {
      if (r.ok) setExported(new Map(r.value.filter((k) => k.exportedAt).map((k) => [k.keysetId, k.exportedAt!])));
    });
  }, []);
  return exported;
}

export function ExportedMark({ exportedAt }: { exportedAt: string | null | undefined }) {
  if (!exportedAt) return null;
  return (
    <div className="exported-mark" data-testid="keyset-exported-mark" role="note">
      EXPORTED <Time iso={exportedAt} /> — the full private key left the cluster: single point of failure. Move the funds to a new keyset.
    </div>
  );
}
