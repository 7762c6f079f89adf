/**
 * A guardian replacement made at the console reaches a signer node through the registry file: the
 * node follows each replacement only when two guardians of its own current set approved exactly
 * it, and refuses anything else with nothing changed. Afterwards a refresh approved by the new
 * guardian and an old one is admitted by the node's own check.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { HDNodeWallet, Mnemonic, Wallet, type BaseWallet } from 'ethers';
import { REGISTRY_FILE_FORMAT, type GuardianRegistryFile } from '../../main/guardians/registry-file';
import type { ReplacementStep } from '../../main/guardians/replacement-chain';
import { APPROVAL_DOMAIN, APPROVAL_TYPES, ENROLMENT_TYPES, payloadHash, type ApprovalMessage } from '../../main/guardians/typed-data';
import { guardedApprovalProof } from '../../main/guardians/guarded-approval';
import { refreshParameters, verifyRefreshApproval, type RefreshTerms } from '../../main/refresh/refresh-approval';
import { rejectsWith } from '../cluster/backup-support';
import { EMULATOR_MNEMONIC } from '../emulators/ledger-eth/emulator';
import { enrolThree, guardianFixture, LEDGER_PATH, softwareKey, type GuardianFixture } from '../support/guardians';
import { GOOD_PASSPHRASE } from '../support/services';

const NORA_PASS = 'nora willow granite beacon 23';
const OMAR_PASS = 'omar saffron glacier anchor 58';

describe('a guardian replacement reaches a signer node', () => {
  let consoleF: GuardianFixture;
  let node: GuardianFixture;
  let initialText = '';
  let midText = '';
  let text = '';
  let file: GuardianRegistryFile;
  let wallets: Record<'sam' | 'sofia' | 'nora' | 'omar', Wallet>;
  let lenaId = '';

  before(async () => {
    consoleF = await guardianFixture();
    node = await guardianFixture();
    const { lena, sam, sofia } = await enrolThree(consoleF);
    lenaId = lena.id;
    const { guardians } = consoleF.services;
    initialText = guardians.registryFileJson();
    assert.equal(node.services.guardians.adoptRegistryFile(initialText, 'guardians.json').outcome, 'enrolled');

    // 1: Sam → Nora, requested by the operator, approved by Lena and Sofia.
    const nora = await softwareKey(NORA_PASS);
    const first = await guardians.requestReplacement(sam.view.id, { method: 'software', name: 'Nora', keyFile: nora.keyFile, passphrase: NORA_PASS }, { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, 60);
    await guardians.signWithLedger(first.id, lena.id, 'approve');
    await guardians.signWithKeyFile(first.id, sofia.keyFile, sofia.passphrase, 'approve');
    guardians.executeReplacement(first.id);
    midText = guardians.registryFileJson();

    // 2: Sofia → Omar, requested by Sofia herself, approved by Lena and Nora.
    consoleF.clock.advance(60_000);
    const omar = await softwareKey(OMAR_PASS);
    const second = await guardians.requestReplacement(sofia.view.id, { method: 'software', name: 'Omar', keyFile: omar.keyFile, passphrase: OMAR_PASS }, { as: 'guardian', guardianId: sofia.view.id, signer: { method: 'software', keyFile: sofia.keyFile, passphrase: sofia.passphrase } }, 60);
    await guardians.signWithLedger(second.id, lena.id, 'approve');
    await guardians.signWithKeyFile(second.id, nora.keyFile, NORA_PASS, 'approve');
    guardians.executeReplacement(second.id);

    const exported = guardians.exportRegistryFile();
    assert.equal(exported.replacements, 2, 'the console says how many replacements the file carries');
    text = exported.json;
    file = JSON.parse(text) as GuardianRegistryFile;
    wallets = { sam: sam.wallet, sofia: sofia.wallet, nora: nora.wallet, omar: omar.wallet };
  });
  after(async () => {
    await consoleF.cleanup();
    await node.cleanup();
  });

  const nodeAddresses = () => node.services.guardians.registry().guardians.map((g) => g.address);
  const variant = (change: (f: GuardianRegistryFile) => unknown) => async (): Promise<string> => {
    const copy = structuredClone(file);
    await change(copy);
    return JSON.stringify(copy);
  };
  /** Refused with `code`, and the node's guardians and audit log of replacements are as before. */
  const refused = async (body: string, code: string, wording?: RegExp) => {
    const before = nodeAddresses();
    const replacedBefore = node.services.audit.list({ type: 'GUARDIAN_REPLACED' }).total;
    const err = await rejectsWith(() => node.services.guardians.adoptRegistryFile(body, 'guardians.json'), code);
    if (wording) assert.match(err.message, wording);
    assert.deepEqual(nodeAddresses(), before, 'nothing changed');
    assert.equal(node.services.audit.list({ type: 'GUARDIAN_REPLACED' }).total, replacedBefore);
    return err;
  };
  const approvalMessage = (step: ReplacementStep, nonce: string, vaultId = file.vaultId): ApprovalMessage => ({
    requestId: step.requestId,
    payloadHash: payloadHash(vaultId, 'guardian.replace', step.subject, step.parameters, step.context),
    operation: 'guardian.replace',
    nonce,
    expiry: Math.floor(step.expiresAt / 1000),
    decision: 'approve',
  });
  const approvalBy = async (wallet: BaseWallet, step: ReplacementStep, vaultId = file.vaultId) => {
    const nonce = `0x${randomUUID().replace(/-/g, '').padEnd(64, '0')}`;
    return { address: wallet.address, nonce, signature: await wallet.signTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, approvalMessage(step, nonce, vaultId)) };
  };
  const proofBy = async (key: BaseWallet, name: string, vaultId = file.vaultId) => {
    const challenge = `0x${'5a'.repeat(32)}`;
    return { challenge, signature: await key.signTypedData(APPROVAL_DOMAIN, ENROLMENT_TYPES, { vaultId, guardianName: name, challenge }) };
  };
  /** A replacement approved by `approvers`, its new guardian proven by `proofKey` (by default the key the terms name). */
  const craftedStep = async (replacedAddress: string, replacedName: string, newKey: BaseWallet, newName: string, newKind: 'ledger' | 'software', newPath: string | null, approvers: BaseWallet[], options: { proofKey?: BaseWallet; vaultId?: string } = {}) => {
    const vaultId = options.vaultId ?? file.vaultId;
    const proof = await proofBy(options.proofKey ?? newKey, newName, vaultId);
    const step: ReplacementStep = {
      requestId: randomUUID(),
      subject: randomUUID(),
      expiresAt: consoleF.clock.now() + 3_600_000,
      parameters: { slot: 3, currentName: replacedName, currentAddress: replacedAddress, newName, newKind, newAddress: newKey.address, newDerivationPath: newPath, newProof: proof },
      context: { requestedBy: 'operator', requesterAddress: null },
      approvals: [],
    };
    for (const w of approvers) step.approvals.push(await approvalBy(w, step, vaultId));
    return { step, entry: { name: newName, kind: newKind, address: newKey.address, derivationPath: newPath, proof } };
  };

  it('the exported file carries each replacement: its exact terms and the two approvals', () => {
    assert.equal(file.format, REGISTRY_FILE_FORMAT);
    assert.deepEqual(file.guardians.map((g) => g.name), ['Lena', 'Nora', 'Omar']);
    assert.deepEqual(file.replacements.map((r) => `${r.parameters.currentName}→${r.parameters.newName}:${r.approvals.length}`), ['Sam→Nora:2', 'Sofia→Omar:2']);
    assert.equal(file.replacements[1]!.context.requesterAddress, wallets.sofia.address);
    assert.doesNotMatch(text, /passphrase|privateKey|ciphertext|crypto/i);
  });

  it('refuses a replacement approved by one guardian only', async () => {
    await refused(await variant((f) => (f.replacements[0]!.approvals = f.replacements[0]!.approvals.slice(0, 1)))(), 'GUARDIAN_CHAIN_QUORUM', /Replacement 1 of 2 .*Sam → Nora.* 1 of the 1 approvals/);
  });

  it('refuses approvals by keys the node never had as guardians, though their signatures are valid', async () => {
    const strangers = [Wallet.createRandom(), Wallet.createRandom()];
    await refused(await variant(async (f) => {
      const step = f.replacements[0]!;
      step.approvals = [await approvalBy(strangers[0]!, step), await approvalBy(strangers[1]!, step)];
    })(), 'GUARDIAN_CHAIN_QUORUM', /2 are signed by keys this node never had as guardians/);
  });

  it('refuses a forged approval signature and tampered terms', async () => {
    await refused(await variant(async (f) => {
      const step = f.replacements[0]!;
      const forged = await Wallet.createRandom().signTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, approvalMessage(step, step.approvals[1]!.nonce));
      step.approvals[1] = { ...step.approvals[1]!, signature: forged };
    })(), 'GUARDIAN_CHAIN_QUORUM', /1 of the 2 approvals/);
    await refused(await variant((f) => (f.replacements[0]!.context.reason = 'edited after approval'))(), 'GUARDIAN_CHAIN_QUORUM', /0 of the 2 approvals/);
  });

  it("never counts the requester's own approval, and a later refused step undoes the earlier ones", async () => {
    // Step 2 was requested by Sofia: her approval plus Lena's is one that counts.
    await refused(await variant(async (f) => {
      const step = f.replacements[1]!;
      step.approvals = [await approvalBy(wallets.sofia, step), step.approvals.find((a) => a.address !== wallets.nora.address)!];
    })(), 'GUARDIAN_CHAIN_QUORUM', /Replacement 2 of 2 .*1 of the 2 approvals/);
  });

  it('refuses a reordered chain, a chain with a step removed and one with a step duplicated', async () => {
    await refused(await variant((f) => f.replacements.reverse())(), 'GUARDIAN_CHAIN_QUORUM', /Sofia → Omar/);
    await refused(await variant((f) => f.replacements.shift())(), 'GUARDIAN_SETUP_CONFLICT', /do not appear in the replacement history/);
    await refused(await variant((f) => f.replacements.unshift(structuredClone(f.replacements[0]!)))(), 'GUARDIAN_FILE_INVALID', /does not match the end of its replacement chain/);
  });

  it("refuses a file whose guardian list is not where its chain ends", async () => {
    const mallory = Wallet.createRandom();
    const challenge = `0x${'77'.repeat(32)}`;
    const signature = await mallory.signTypedData(APPROVAL_DOMAIN, ENROLMENT_TYPES, { vaultId: file.vaultId, guardianName: 'Mallory', challenge });
    await refused(await variant((f) => (f.guardians[1] = { name: 'Mallory', kind: 'software', address: mallory.address, derivationPath: null, proof: { challenge, signature } }))(), 'GUARDIAN_FILE_INVALID', /does not match the end of its replacement chain/);
  });

  it('refuses a new guardian whose proof another key signed, and a Ledger guardian without a derivation path, even approved by two guardians', async () => {
    const appended = async (crafted: Awaited<ReturnType<typeof craftedStep>>) => variant((f) => {
      f.replacements.push(crafted.step);
      f.guardians[2] = crafted.entry;
    })();
    await refused(await appended(await craftedStep(wallets.omar.address, 'Omar', Wallet.createRandom(), 'Lex', 'software', null, [wallets.nora, wallets.omar], { proofKey: Wallet.createRandom() })), 'GUARDIAN_FILE_INVALID', /enrolment proof of "Lex" was not signed by/);
    await refused(await appended(await craftedStep(wallets.omar.address, 'Omar', Wallet.createRandom(), 'Lex', 'ledger', null, [wallets.nora, wallets.omar])), 'GUARDIAN_FILE_INVALID', /"Lex" is a Ledger guardian without a derivation path/);
  });

  it('follows the chain: both replacements applied and audited; a refresh approved by the new guardian and an old one is then admitted', async () => {
    // A refresh approved at the console by Nora (new) and Lena (old), checked as a lab node checks it.
    const terms: RefreshTerms = { keysetId: 'ks-lab-1', clusterId: 'lab', publicKey: '0x01', address: null, participants: [{ nodeId: 'a', partyIndex: 1 }, { nodeId: 'b', partyIndex: 2 }, { nodeId: 'c', partyIndex: 3 }], fromEpoch: 0, newAux: false, requesterNode: 'a' };
    const { guardians } = consoleF.services;
    const request = await guardians.createRequest({ operation: 'keyset.refresh', subject: terms.keysetId, parameters: refreshParameters(terms), context: { reason: 'rotation' }, requester: { as: 'operator', vaultPassphrase: GOOD_PASSPHRASE }, ttlMinutes: 60 });
    await guardians.signWithLedger(request.id, lenaId, 'approve');
    const message = guardians.prepareMessage(request.id, 'approve');
    guardians.submitApproval(message, await wallets.nora.signTypedData(APPROVAL_DOMAIN, APPROVAL_TYPES, message), 'file');
    const proof = guardedApprovalProof(guardians, request.id);
    const check = () => verifyRefreshApproval({ proof, terms, guardians: nodeAddresses(), now: consoleF.clock.now() });
    assert.throws(check, (e: Error & { code?: string }) => e.code === 'REFRESH_APPROVAL_QUORUM', 'the node does not know Nora yet');

    const adopted = node.services.guardians.adoptRegistryFile(text, 'guardians.json');
    assert.equal(adopted.outcome, 'replaced');
    assert.deepEqual(adopted.replaced.map((r) => `${r.previous.name}→${r.next.name}`), ['Sam→Nora', 'Sofia→Omar']);
    assert.deepEqual(node.services.guardians.registry().guardians.map((g) => [g.name, g.address]), guardians.registry().guardians.map((g) => [g.name, g.address]));
    const audited = node.services.audit.list({ type: 'GUARDIAN_REPLACED' }).entries;
    assert.equal(audited.length, 2);
    assert.ok(audited.every((e) => e.details.fromFile === 'guardians.json' && Array.isArray(e.details.approvers) && e.details.approvers.length === 2));
    assert.equal(check().approvers.length, 2);
    assert.equal(node.services.guardians.adoptRegistryFile(text, 'guardians.json').outcome, 'unchanged');
  });

  it('refuses an older file afterwards: a replaced guardian never comes back', async () => {
    await refused(initialText, 'GUARDIAN_CHAIN_ROLLBACK', /names Sam .* replaced that guardian/);
    await refused(midText, 'GUARDIAN_CHAIN_ROLLBACK', /names Sofia .* a replaced guardian never comes back/);
    // Even approved by two current guardians, a step that brings back a replaced key is refused.
    const { step, entry } = await craftedStep(wallets.omar.address, 'Omar', wallets.sam, 'Sam', 'software', null, [wallets.nora, wallets.omar]);
    await refused(await variant((f) => {
      f.replacements.push(step);
      f.guardians[2] = entry;
    })(), 'GUARDIAN_CHAIN_ROLLBACK', /Replacement 3 of 3 .* would make .* a guardian again, but this node replaced that key \("Sam"\)/);
  });

  it("refuses a replacement its guardians approved in another vault's registry", async () => {
    // The same keys, proven and approving in vault Y: this node's guardians came from the console's vault.
    const other = randomUUID();
    const lena = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(EMULATOR_MNEMONIC), `m/${LEDGER_PATH}`);
    const { step, entry } = await craftedStep(wallets.omar.address, 'Omar', Wallet.createRandom(), 'Xavier', 'software', null, [lena, wallets.nora], { vaultId: other });
    const body = JSON.stringify({
      ...file,
      vaultId: other,
      guardians: [
        { ...file.guardians[0]!, proof: await proofBy(lena, 'Lena', other) },
        { ...file.guardians[1]!, proof: await proofBy(wallets.nora, 'Nora', other) },
        entry,
      ],
      replacements: [step],
    });
    await refused(body, 'GUARDIAN_SETUP_CONFLICT', new RegExp(`came from vault ${file.vaultId}, and guardians.json is from vault ${other}`));
  });
});
