//! Unit tests of the vertical controller's pure parts.
