//! Reassembly of fragmented messages with a per-peer memory bound.

use crate::types::Delivery;
use crate::wire::FragmentInfo;
use std::collections::HashMap;

/// One message being reassembled.
#[derive(Debug)]
pub(super) struct Partial {
    count: u32,
    total: u32,
    received: u32,
    received_bytes: usize,
    /// The message bytes (allocated at the declared total length).
    pub(super) data: Vec<u8>,
    /// How the message was sent.
    pub(super) delivery: Delivery,
    /// True when its fragments travelled sealed.
    pub(super) encrypted: bool,
}

impl Partial {
    fn is_complete(&self) -> bool {
        self.received == self.count && self.received_bytes == self.total as usize
    }
}

/// Every incomplete message of one peer, keyed by (channel, first sequence).
#[derive(Debug, Default)]
pub(super) struct Reassembly {
    sets: HashMap<(u8, u64), Partial>,
    reserved: usize,
    limit: usize,
}

impl Reassembly {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            sets: HashMap::new(),
            reserved: 0,
            limit,
        }
    }

    /// Bytes held for incomplete messages.
    pub(super) fn reserved(&self) -> usize {
        self.reserved
    }

    /// True when a fragment of this set may be stored: the set exists, or its
    /// declared total fits under the bound.
    pub(super) fn admits(&self, key: (u8, u64), total: u32) -> bool {
        self.sets.contains_key(&key) || self.reserved.saturating_add(total as usize) <= self.limit
    }

    /// Stores one fragment. Returns whether the set is now complete, or `Err`
    /// when the fragment contradicts its set (a protocol violation; nothing stored).
    pub(super) fn add(
        &mut self,
        key: (u8, u64),
        info: FragmentInfo,
        delivery: Delivery,
        encrypted: bool,
        plaintext: &[u8],
    ) -> Result<bool, ()> {
        let end = (info.offset as usize)
            .checked_add(plaintext.len())
            .ok_or(())?;
        if end > info.total as usize || info.index >= info.count || info.count > info.total {
            return Err(());
        }
        if !self.sets.contains_key(&key) {
            if !self.admits(key, info.total) {
                return Err(());
            }
            self.reserved += info.total as usize;
            self.sets.insert(
                key,
                Partial {
                    count: info.count,
                    total: info.total,
                    received: 0,
                    received_bytes: 0,
                    data: vec![0; info.total as usize],
                    delivery,
                    encrypted,
                },
            );
        }
        let set = self.sets.get_mut(&key).ok_or(())?;
        if set.count != info.count || set.total != info.total {
            return Err(());
        }
        set.data[info.offset as usize..end].copy_from_slice(plaintext);
        set.received += 1;
        set.received_bytes += plaintext.len();
        set.encrypted &= encrypted;
        Ok(set.is_complete())
    }

    /// Removes a set; returns it when complete (an incomplete one is discarded).
    pub(super) fn take(&mut self, key: (u8, u64)) -> Option<Partial> {
        let set = self.sets.remove(&key)?;
        self.reserved -= set.total as usize;
        set.is_complete().then_some(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_and_completion() {
        let mut r = Reassembly::new(100);
        let info = |index, offset| FragmentInfo {
            count: 2,
            index,
            total: 60,
            offset,
        };
        assert_eq!(
            r.add(
                (0, 0),
                info(0, 0),
                Delivery::ReliableOrdered,
                false,
                &[1; 30]
            ),
            Ok(false)
        );
        assert_eq!(r.reserved(), 60);
        assert!(!r.admits((0, 10), 60), "second set would exceed the bound");
        assert!(r
            .add(
                (0, 10),
                info(0, 0),
                Delivery::ReliableOrdered,
                false,
                &[1; 30]
            )
            .is_err());
        assert!(
            r.add(
                (0, 0),
                info(1, 50),
                Delivery::ReliableOrdered,
                false,
                &[2; 30]
            )
            .is_err(),
            "overflow"
        );
        assert_eq!(
            r.add(
                (0, 0),
                info(1, 30),
                Delivery::ReliableOrdered,
                false,
                &[2; 30]
            ),
            Ok(true)
        );
        let set = r.take((0, 0)).unwrap();
        assert_eq!(&set.data[28..32], &[1, 1, 2, 2]);
        assert_eq!(r.reserved(), 0);
    }
}
