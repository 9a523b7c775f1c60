use session_actix::TypedSession;

// Deserialize but not Serialize: the error names the field's type and the
// missing trait. (A type with neither also fails on Deserialize, but the
// compiler's list of other Deserialize impls changes with the features in
// the build, for example serde_json's `raw_value` that sqlx enables, so
// that snapshot could not hold for every feature set.)
#[derive(Default)]
struct NotSerde;

impl<'de> serde::Deserialize<'de> for NotSerde {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <()>::deserialize(d).map(|()| NotSerde)
    }
}

#[derive(TypedSession)]
struct Cart {
    items: NotSerde,
}

fn main() {}
