//! The room's event cache: events replayed to every newcomer.

use transport::codec::EventData;

/// One cached event.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedEvent {
    /// The actor whose event it is; 0 for room-global entries.
    pub owner: i32,
    /// The event as it was sent.
    pub event: EventData,
}

/// The cache of one room, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct EventCache {
    events: Vec<CachedEvent>,
}

impl EventCache {
    /// Adds an event. Returns false if the cache holds `max` events already.
    pub fn add(&mut self, owner: i32, event: EventData, max: usize) -> bool {
        if self.events.len() >= max {
            return false;
        }
        self.events.push(CachedEvent { owner, event });
        true
    }
    /// Removes events with this code (0 = any) owned by one of `owners`
    /// (empty = any owner).
    pub fn remove(&mut self, code: u8, owners: &[i32]) -> usize {
        let before = self.events.len();
        self.events.retain(|e| {
            let code_match = code == 0 || e.event.code == code;
            let owner_match = owners.is_empty() || owners.contains(&e.owner);
            !(code_match && owner_match)
        });
        before - self.events.len()
    }
    /// Removes events whose owner fails `keep`.
    pub fn retain_owners(&mut self, mut keep: impl FnMut(i32) -> bool) {
        self.events.retain(|e| e.owner == 0 || keep(e.owner));
    }
    /// The cached events in order.
    pub fn iter(&self) -> impl Iterator<Item = &CachedEvent> {
        self.events.iter()
    }
    /// Number of cached events.
    pub fn len(&self) -> usize {
        self.events.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: u8, sender: i32) -> EventData {
        EventData {
            code,
            sender,
            ..EventData::default()
        }
    }

    #[test]
    fn add_remove_and_limit() {
        let mut c = EventCache::default();
        assert!(c.add(1, ev(1, 1), 3));
        assert!(c.add(2, ev(1, 2), 3));
        assert!(c.add(0, ev(2, 1), 3));
        assert!(!c.add(1, ev(3, 1), 3));
        assert_eq!(c.remove(1, &[2]), 1);
        assert_eq!(c.len(), 2);
        c.retain_owners(|o| o != 1);
        // The global (owner 0) entry survives its sender leaving.
        assert_eq!(c.iter().map(|e| e.event.code).collect::<Vec<_>>(), vec![2]);
        assert_eq!(c.remove(0, &[]), 1);
        assert!(c.is_empty());
    }
}
