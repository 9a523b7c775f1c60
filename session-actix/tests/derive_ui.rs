//! Compile-time behaviour of `#[derive(TypedSession)]`: what compiles
//! (`ui/pass`, each also run) and the errors misuse gives (`ui/fail`, checked
//! against the `.stderr` snapshots; refresh them with `TRYBUILD=overwrite`
//! and read every changed message and span before committing).

#[test]
fn derive_typed_session() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
