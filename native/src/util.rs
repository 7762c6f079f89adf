use sha3::{Digest, Keccak256};

/// EIP-55 checksummed address from an uncompressed SEC1 public key (65 bytes).
pub fn eth_address(uncompressed: &[u8]) -> String {
    let hash = Keccak256::digest(&uncompressed[1..]);
    let hex_addr: String = hash[12..].iter().map(|b| format!("{b:02x}")).collect();
    let check = Keccak256::digest(hex_addr.as_bytes());
    let mut out = String::from("0x");
    for (i, c) in hex_addr.chars().enumerate() {
        let nibble = (check[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        if c.is_ascii_alphabetic() && nibble >= 8 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn solana_address(pubkey: &[u8]) -> String {
    bs58::encode(pubkey).into_string()
}

pub fn sub_execution_id(session_id: &[u8], label: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(session_id.len() + label.len() + 1);
    v.extend_from_slice(session_id);
    v.push(b'/');
    v.extend_from_slice(label.as_bytes());
    v
}
