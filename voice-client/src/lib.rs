//! Load-balancing client and voice pipeline.
