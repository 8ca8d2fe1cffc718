//! One actor of a room: its peer (none while inactive), user, properties and
//! interest groups.

use crate::game::props::Props;
use std::time::Instant;
use transport::PeerHandle;

/// Interest groups an actor receives: a 256-bit set (group 0 means "everyone"
/// and is never stored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Groups([u64; 4]);

impl Groups {
    /// True if the actor receives `group` (group 0: always).
    pub fn contains(&self, group: u8) -> bool {
        group == 0 || self.0[usize::from(group >> 6)] & (1u64 << (group & 63)) != 0
    }
    /// Adds a group (0 is ignored).
    pub fn add(&mut self, group: u8) {
        if group != 0 {
            self.0[usize::from(group >> 6)] |= 1u64 << (group & 63);
        }
    }
    /// Removes a group.
    pub fn remove(&mut self, group: u8) {
        self.0[usize::from(group >> 6)] &= !(1u64 << (group & 63));
    }
    /// Every group 1..=255.
    pub fn all() -> Self {
        Self([!1u64, !0, !0, !0])
    }
    /// No group.
    pub fn none() -> Self {
        Self::default()
    }
}

/// One actor.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Actor number, unique in the room, never reused.
    pub number: i32,
    /// The connected peer; `None` while inactive.
    pub peer: Option<PeerHandle>,
    /// User id from the token.
    pub user_id: String,
    /// Custom actor properties.
    pub props: Props,
    /// Interest groups received.
    pub groups: Groups,
    /// When the actor became inactive.
    pub inactive_since: Option<Instant>,
    /// Encrypted sends possible to this actor (established keys or WSS).
    pub can_encrypt: bool,
}

impl Actor {
    /// True while connected to the room.
    pub fn is_active(&self) -> bool {
        self.peer.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups() {
        let mut g = Groups::none();
        assert!(g.contains(0));
        assert!(!g.contains(1));
        g.add(1);
        g.add(200);
        assert!(g.contains(1) && g.contains(200) && !g.contains(2));
        g.remove(200);
        assert!(!g.contains(200));
        let all = Groups::all();
        assert!((1..=255u8).all(|i| all.contains(i)));
        g.add(0);
        assert_eq!(g, {
            let mut x = Groups::none();
            x.add(1);
            x
        });
    }
}
