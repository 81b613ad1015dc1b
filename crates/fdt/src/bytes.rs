//! Bounds-checked big-endian reads. Every read of the blob goes through here, so no index can
//! panic: a read past the end is `None`, and the caller turns it into an error with its offset.

/// The big-endian u32 at `offset`, if four bytes are there.
#[inline]
pub(crate) fn be32(blob: &[u8], offset: usize) -> Option<u32> {
    let bytes = blob.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// The big-endian u64 at `offset`, if eight bytes are there.
#[inline]
pub(crate) fn be64(blob: &[u8], offset: usize) -> Option<u64> {
    let hi = be32(blob, offset)?;
    let lo = be32(blob, offset.checked_add(4)?)?;
    Some((u64::from(hi) << 32) | u64::from(lo))
}

/// Rounds up to the next multiple of four (structure-block alignment), without overflow.
#[inline]
pub(crate) fn align4(offset: usize) -> Option<usize> {
    offset.checked_add(3).map(|o| o & !3)
}
