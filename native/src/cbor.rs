//! CBOR helpers for engine messages: the message enum's variant name gives the round id.

use crate::error::{ErrorCode, MpcError, MpcResult};
use ciborium::Value;
use serde::{de::DeserializeOwned, Serialize};

pub fn to_bytes<T: Serialize>(v: &T) -> MpcResult<Vec<u8>> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).map_err(|_| MpcError::internal("encoding failed"))?;
    Ok(out)
}

pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8], code: ErrorCode, what: &str) -> MpcResult<T> {
    ciborium::from_reader(bytes).map_err(|_| MpcError::new(code, format!("cannot decode {what}")))
}

pub fn variant_name(v: &Value) -> &str {
    match v {
        Value::Map(entries) if entries.len() == 1 => match &entries[0].0 {
            Value::Text(name) => name.as_str(),
            _ => "",
        },
        Value::Text(name) => name.as_str(),
        _ => "",
    }
}

/// Encodes an engine message; returns (variant name, bytes).
pub fn encode_message<T: Serialize>(msg: &T) -> MpcResult<(String, Vec<u8>)> {
    let value = Value::serialized(msg).map_err(|_| MpcError::internal("encoding failed"))?;
    let name = variant_name(&value).to_string();
    Ok((name, to_bytes(&value)?))
}

pub fn decode_message<T: DeserializeOwned>(bytes: &[u8], from: u16) -> MpcResult<(String, T)> {
    let malformed = || MpcError::from_party(ErrorCode::MalformedMessage, from, "cannot decode message");
    let value: Value = ciborium::from_reader(bytes).map_err(|_| malformed())?;
    let name = variant_name(&value).to_string();
    let msg = value.deserialized::<T>().map_err(|_| malformed())?;
    Ok((name, msg))
}
