/**
 * EVM payloads: the permit carries the unsigned serialized transaction (hex). ethers parses it;
 * the bytes the ECDSA engine hashes (keccak256) are exactly the unsigned serialization, so the
 * tx hash is recomputed from the same bytes the signature will cover.
 */
import { getAddress, getBytes, Interface, keccak256, Transaction } from 'ethers';
import { fail } from '../errors';
import type { DecodedTransaction, Transfer } from './transaction';

const ERC20 = new Interface(['function transfer(address to, uint256 amount)']);
const ERC20_TRANSFER_SELECTOR = ERC20.getFunction('transfer')!.selector;
const MAX_PAYLOAD_BYTES = 16 * 1024;

function refuse(reason: string): never {
  fail('PERMIT_PAYLOAD_INVALID', `The EVM transaction in the permit cannot be co-signed: ${reason}.`);
}

export function decodeEvmPayload(payloadHex: string): DecodedTransaction {
  if (!/^0x([0-9a-fA-F]{2})+$/.test(payloadHex)) refuse('the payload is not 0x-prefixed hex');
  const bytes = Buffer.from(getBytes(payloadHex));
  if (bytes.length > MAX_PAYLOAD_BYTES) refuse(`it is ${bytes.length} bytes, more than ${MAX_PAYLOAD_BYTES}`);
  let tx: Transaction;
  try {
    tx = Transaction.from(payloadHex);
  } catch {
    refuse('it does not parse as a serialized transaction');
  }
  if (tx.signature) refuse('it already carries a signature; the permit must hold the unsigned transaction');
  if (tx.type !== 0 && tx.type !== 2) refuse(`transaction type ${tx.type} is not supported (EIP-1559 and legacy only)`);
  if (tx.chainId === 0n) refuse('a legacy transaction without a chain id (EIP-155) could be replayed on any chain');
  if (tx.chainId > BigInt(Number.MAX_SAFE_INTEGER)) refuse('the chain id is out of range');
  // Re-encoding must give the same bytes: no second encoding of the same transaction slips through.
  const preimage = Buffer.from(getBytes(tx.unsignedSerialized));
  if (!preimage.equals(bytes)) refuse('it is not in canonical encoding');
  if (!tx.to) refuse('it creates a contract; this node co-signs transfers only');

  // ethers already returns \`to\` checksummed; checksumming it again costs a keccak per permit.
  const to = tx.to;
  const transfers: Transfer[] = [];
  if (tx.value > 0n) transfers.push({ asset: 'native', destination: to, amount: tx.value, source: null, decimals: null });
  let kind: DecodedTransaction['kind'] = tx.type === 2 ? 'eip1559' : 'legacy';
  if (tx.data !== '0x') {
    if (!tx.data.toLowerCase().startsWith(ERC20_TRANSFER_SELECTOR)) refuse(`it calls contract ${to} with data this node cannot read (only ERC-20 transfer)`);
    let recipient: string;
    let amount: bigint;
    try {
      const decoded = ERC20.decodeFunctionData('transfer', tx.data);
      recipient = getAddress(String(decoded[0]));
      amount = BigInt(decoded[1] as bigint);
      // Trailing bytes after the two arguments would be ignored by decoding but signed: refuse them.
      if (ERC20.encodeFunctionData('transfer', [recipient, amount]).toLowerCase() !== tx.data.toLowerCase()) throw new Error('non-canonical');
    } catch {
      refuse('its ERC-20 transfer call data is malformed');
    }
    transfers.push({ asset: `erc20:${to.toLowerCase()}`, destination: recipient, amount, source: null, decimals: null });
    kind = 'erc20';
  }
  if (transfers.length === 0) refuse('it moves no value (zero amount)');
  return { chain: 'evm', kind, txHash: keccak256(preimage), signingPreimage: preimage, evmChainId: Number(tx.chainId), transfers };
}
