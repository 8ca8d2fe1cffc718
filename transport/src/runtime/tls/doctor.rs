//! `voice-server doctor` (in progress).
