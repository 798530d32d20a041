//! Conformance tests of the repository ports.
