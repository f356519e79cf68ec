//! Values written as one of a fixed set of names (`tls_policy = "fapi"`).
//!
//! Declared with [`config_choice!`] instead of serde's derive: a derived enum's messages name the
//! Rust type (`expected enum TlsPolicy`) and TOML reports a number given for one as "wanted
//! string or table", where the operator needs the accepted names.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};

use super::message;

/// Declares an enum read from one of the given names, with `NAMES` and `from_name`.
macro_rules! config_choice {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// The names accepted in the file, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $text => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::config::choice::deserialize(d, "value", Self::NAMES, Self::from_name)
            }
        }
    };
}
pub(super) use config_choice;

/// Reads one of `names`; `what` names the kind of value in the problem text.
pub(super) fn deserialize<'de, D, T>(
    d: D,
    what: &'static str,
    names: &'static [&'static str],
    from_name: fn(&str) -> Option<T>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    d.deserialize_any(ChoiceVisitor {
        what,
        names,
        from_name,
        out: PhantomData,
    })
}

struct ChoiceVisitor<T> {
    what: &'static str,
    names: &'static [&'static str],
    from_name: fn(&str) -> Option<T>,
    out: PhantomData<T>,
}

impl<T> Visitor<'_> for ChoiceVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of {}", self.names.join(", "))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.from_name)(v)
            .ok_or_else(|| E::custom(message::unknown_value(self.what, v, self.names, "")))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    config_choice! {
        #[derive(Debug, PartialEq, Eq)]
        pub enum Colour {
            Red = "red",
            DarkBlue = "dark_blue",
        }
    }

    #[derive(Debug, Deserialize)]
    struct Paint {
        colour: Colour,
    }

    fn read(text: &str) -> Result<Paint, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned())
    }

    #[test]
    fn names_are_read_and_mistakes_list_them() {
        assert_eq!(
            read("colour = \"dark_blue\"").unwrap().colour,
            Colour::DarkBlue
        );
        assert_eq!(
            read("colour = \"dark_blu\"").unwrap_err(),
            "unknown value `dark_blu`; expected one of red, dark_blue; did you mean `dark_blue`?"
        );
        assert_eq!(
            read("colour = 3").unwrap_err(),
            "invalid type: integer `3`, expected one of red, dark_blue"
        );
    }
}
