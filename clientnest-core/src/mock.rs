//! Mocks.
