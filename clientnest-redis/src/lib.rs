//! ClientNest redis adapter.
