//! cpal capture and playback (filled in below).
