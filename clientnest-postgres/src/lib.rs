//! ClientNest postgres adapter.
