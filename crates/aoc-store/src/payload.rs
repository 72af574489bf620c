//! The stored payload of an event: its normalized fields that are not columns (`extra`) and its
//! raw record, as JSON text, in one zstd frame.
//!
//! Audit records are 1–3 KB of repetitive JSON; compressed they take a third or less of that,
//! and bytes written are what bounds ingest on both engines (see BENCHMARKS.md). One frame for
//! both parts lets the raw record's field names and values compress against the extra's.

use std::cell::RefCell;

use crate::{StoreError, StoreResult};

/// Fast and already close to the best ratio for records this small.
const LEVEL: i32 = 1;
/// A payload never decompresses past this, whatever its header claims.
const MAX_PAYLOAD_BYTES: u64 = 64 << 20;

thread_local! {
    // Creating a zstd context costs more than compressing one record: keep one per thread.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// `extra` and `raw` (compact JSON, so neither holds a raw newline) joined by a newline, compressed.
pub fn encode(extra: &str, raw: &str) -> StoreResult<Vec<u8>> {
    let mut text = Vec::with_capacity(extra.len() + raw.len() + 1);
    text.extend_from_slice(extra.as_bytes());
    text.push(b'\n');
    text.extend_from_slice(raw.as_bytes());
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(zstd::bulk::Compressor::new(LEVEL).map_err(internal)?),
        };
        compressor.compress(&text).map_err(internal)
    })
}

/// The `(extra, raw)` JSON texts of a payload.
pub fn decode(payload: &[u8]) -> StoreResult<(String, String)> {
    let size = zstd::zstd_safe::get_frame_content_size(payload)
        .ok()
        .flatten()
        .filter(|size| *size <= MAX_PAYLOAD_BYTES)
        .ok_or_else(|| StoreError::Corrupt("payload has no valid zstd frame header".into()))?;
    let text = DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let decompressor = match slot.as_mut() {
            Some(d) => d,
            None => slot.insert(zstd::bulk::Decompressor::new().map_err(internal)?),
        };
        decompressor
            .decompress(payload, size as usize)
            .map_err(|e| StoreError::Corrupt(format!("payload does not decompress: {e}")))
    })?;
    let text = String::from_utf8(text)
        .map_err(|e| StoreError::Corrupt(format!("payload is not UTF-8: {e}")))?;
    let (extra, raw) = text
        .split_once('\n')
        .ok_or_else(|| StoreError::Corrupt("payload has no separator".into()))?;
    Ok((extra.to_owned(), raw.to_owned()))
}

fn internal(error: std::io::Error) -> StoreError {
    StoreError::Internal(format!("compression: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_compresses() {
        let extra = r#"{"actor":{"kind":"user","upn":"admin.kim@contoso.com"},"details":{"ForwardTo":"x@fabrikam.example"}}"#;
        let raw = serde_json::json!({
            "Id": "5d7f9b1d-3e4a-4c6b-8d0e-2f4a6c8e1a01", "Operation": "New-InboxRule",
            "Parameters": [{"Name": "ForwardTo", "Value": "x@fabrikam.example"}, {"Name": "Name", "Value": "\n\u{0}日本"}],
            "UserId": "admin.kim@contoso.com", "Workload": "Exchange", "OrganizationName": "contoso.onmicrosoft.com"
        })
        .to_string();
        let payload = encode(extra, &raw).expect("encode");
        assert!(payload.len() < extra.len() + raw.len());
        assert_eq!(decode(&payload).expect("decode"), (extra.to_owned(), raw));
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        for bad in [&b""[..], b"not zstd", &[0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff]] {
            assert!(
                matches!(decode(bad), Err(StoreError::Corrupt(_))),
                "{bad:?}"
            );
        }
    }
}
