//! Reference server: being rebuilt.
