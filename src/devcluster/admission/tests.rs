//! Unit tests of admission.
