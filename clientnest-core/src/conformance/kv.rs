//! Conformance tests of the key-value ports.
