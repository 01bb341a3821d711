//! `uniffi-bindgen`, built from this workspace so its version always matches the `uniffi` the
//! library uses. Kept in its own crate so clap & co. stay out of the library build.
fn main() {
    uniffi::uniffi_bindgen_main()
}
