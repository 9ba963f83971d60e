//! Integration tests of the `hj212` crate, in one test binary.

mod alloc;
mod properties;
mod records;
