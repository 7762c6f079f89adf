/**
 * A signer node started as an Electron utility process reads its vault passphrase from the first
 * message on its parent port: only a message of the expected shape and size is taken, and plain
 * Node (no parent port) is refused with a sentence saying what to use instead.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { PARENT_PORT_PASSPHRASE } from '../../main/cluster/lab-launch';
import { AppFailure } from '../../main/errors';
import { MAX_PARENT_PORT_PASSPHRASE_BYTES, passphraseFromParentPort, type ParentPortLike } from '../../main/node/parent-port-passphrase';

function port(): ParentPortLike & { send(data: unknown): void } {
  const emitter = new EventEmitter();
  return { once: (event, listener) => emitter.once(event, listener), send: (data) => emitter.emit('message', { data }) };
}

const refused = (pattern: RegExp) => (e: unknown) => e instanceof AppFailure && e.code === 'VALIDATION_FAILED' && pattern.test(e.message);

describe('vault passphrase from the parent port', () => {
  it('takes the passphrase from the first message', async () => {
    const p = port();
    const read = passphraseFromParentPort(p);
    p.send({ type: PARENT_PORT_PASSPHRASE, passphrase: 'correct horse battery' });
    assert.equal(await read, 'correct horse battery');
  });

  it('refuses plain Node, a message of another shape, an oversized passphrase, and silence', async () => {
    await assert.rejects(async () => passphraseFromParentPort(undefined), refused(/--passphrase-fd/));
    const wrong = port();
    const readWrong = passphraseFromParentPort(wrong);
    wrong.send({ type: 'something-else', passphrase: 'x' });
    await assert.rejects(readWrong, refused(/not a vault passphrase/));
    const notText = port();
    const readNotText = passphraseFromParentPort(notText);
    notText.send({ type: PARENT_PORT_PASSPHRASE, passphrase: 42 });
    await assert.rejects(readNotText, refused(/not a vault passphrase/));
    const big = port();
    const readBig = passphraseFromParentPort(big);
    big.send({ type: PARENT_PORT_PASSPHRASE, passphrase: 'x'.repeat(MAX_PARENT_PORT_PASSPHRASE_BYTES + 1) });
    await assert.rejects(readBig, refused(/longer than/));
    await assert.rejects(passphraseFromParentPort(port(), 50), refused(/No passphrase arrived/));
  });
});
