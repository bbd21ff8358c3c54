//! The encoding contract every wire type follows, the cursor decoding reads from, the counted
//! containers the API uses for variable parts, and the two macros that write all the
//! repetitive code: `wire_struct!` for message layouts and
//! `open_enum!` for number spaces the kernel owns.
//!
//! # Length and panic contract
//! * [`Wire::decode`] reads exactly the bytes of one value from the front of a [`Reader`] and
//!   never panics: too few bytes give [`Problem::Truncated`] naming
//!   the field; a count that promises more items than there are bytes is caught before any
//!   allocation.
//! * [`decode_exact`] additionally rejects bytes left over after the value
//!   ([`Problem::TrailingBytes`]). Messages whose later API
//!   versions appended fields end in an `Option<T>` (absent when no bytes remain) so that old
//!   and new kernels both decode.
//! * [`Wire::encode`] appends exactly the bytes that `decode` reads back: for every value `x`,
//!   `decode(encode(x)) == x`, and for every valid byte string `b`, `encode(decode(b)) == b`.
//!   Reserved bytes are kept as they were read, so the second law holds for captures too.
//! * Encoding panics only when a counted container holds more items than its count field can
//!   express (more than 255 for [`List8`]/[`Bytes8`], more than 65535 for [`List16`]/[`Bytes16`]);
//!   the client checks those limits and returns an error before encoding.

use crate::error::{DecodeError, Problem};

/// A type with an exact MGMT wire encoding.
pub trait Wire: Sized {
    /// Reads one value from the front of `r`, advancing it past the value's bytes.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Appends the value's exact wire bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);
}

/// A cursor over message parameters that remembers which message and field it is reading, so
/// that every error can say so.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    message: &'static str,
    field: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, the parameters of the message called `message`.
    pub fn new(message: &'static str, buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            message,
            field: "parameters",
        }
    }

    /// Names the field about to be read, for error messages.
    pub fn set_field(&mut self, field: &'static str) {
        self.field = field;
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Bytes read so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// An error at the current field and position.
    pub fn error(&self, problem: Problem) -> DecodeError {
        DecodeError::new(self.message, self.field, self.pos, problem)
    }

    /// Takes the next `n` bytes, or fails with [`Problem::Truncated`].
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(self.error(Problem::Truncated {
                expected: n,
                actual: self.remaining(),
            }));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Takes every byte left.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// Takes the next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Checks that `count` items of at least `min_item_len` bytes each can still follow, so a
    /// corrupt count never causes a large allocation.
    pub fn check_count(&self, count: usize, min_item_len: usize) -> Result<(), DecodeError> {
        let need = count.saturating_mul(min_item_len);
        if need > self.remaining() {
            return Err(self.error(Problem::Truncated {
                expected: need,
                actual: self.remaining(),
            }));
        }
        Ok(())
    }

    /// Fails with [`Problem::TrailingBytes`] if any byte is left.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() != 0 {
            return Err(DecodeError::new(
                self.message,
                "end of message",
                self.pos,
                Problem::TrailingBytes {
                    expected: self.pos,
                    actual: self.buf.len(),
                },
            ));
        }
        Ok(())
    }
}

/// Decodes a whole parameter block as one `T`, rejecting trailing bytes.
pub fn decode_exact<T: Wire>(message: &'static str, bytes: &[u8]) -> Result<T, DecodeError> {
    let mut r = Reader::new(message, bytes);
    let v = T::decode(&mut r)?;
    r.finish()?;
    Ok(v)
}

/// Encodes `value` into a fresh vector.
pub fn encode_to_vec<T: Wire>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.encode(&mut out);
    out
}

impl Wire for () {
    fn decode(_: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(())
    }
    fn encode(&self, _: &mut Vec<u8>) {}
}

impl Wire for u8 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.take(1)?[0])
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
}

impl Wire for i8 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.take(1)?[0] as i8)
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }
}

macro_rules! little_endian {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_le_bytes(r.array()?))
            }
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
little_endian!(u16, u32, u64, i16);

/// A boolean octet: 0x00 or 0x01; any other value is [`Problem::InvalidValue`].
impl Wire for bool {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            v => {
                r.pos -= 1;
                Err(r.error(Problem::InvalidValue { value: v.into() }))
            }
        }
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl<const N: usize> Wire for [u8; N] {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array()
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

/// A field that a later API version appended: absent when the message ends before it.
impl<T: Wire> Wire for Option<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.remaining() == 0 {
            Ok(None)
        } else {
            T::decode(r).map(Some)
        }
    }
    fn encode(&self, out: &mut Vec<u8>) {
        if let Some(v) = self {
            v.encode(out);
        }
    }
}

macro_rules! counted_list {
    ($(#[$m:meta])* $name:ident, $count:ty) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
        pub struct $name<T>(pub Vec<T>);

        impl<T: Wire> Wire for $name<T> {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                let count = usize::from(<$count>::decode(r)?);
                r.check_count(count, 1)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(T::decode(r)?);
                }
                Ok($name(items))
            }
            fn encode(&self, out: &mut Vec<u8>) {
                let count = <$count>::try_from(self.0.len()).unwrap_or_else(|_| {
                    panic!(concat!(stringify!($name), " holds {} items, more than its count field can express"), self.0.len())
                });
                count.encode(out);
                for item in &self.0 {
                    item.encode(out);
                }
            }
        }

        impl<T> From<Vec<T>> for $name<T> {
            fn from(v: Vec<T>) -> Self {
                $name(v)
            }
        }

        impl<T> core::ops::Deref for $name<T> {
            type Target = [T];
            fn deref(&self) -> &[T] {
                &self.0
            }
        }
    };
}

counted_list!(
    /// A list preceded by its item count in one octet.
    List8,
    u8
);
counted_list!(
    /// A list preceded by its item count in two octets (little endian).
    List16,
    u16
);

macro_rules! counted_bytes {
    ($(#[$m:meta])* $name:ident, $count:ty) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Default, Hash)]
        pub struct $name(pub Vec<u8>);

        impl Wire for $name {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                let len = usize::from(<$count>::decode(r)?);
                Ok($name(r.take(len)?.to_vec()))
            }
            fn encode(&self, out: &mut Vec<u8>) {
                let len = <$count>::try_from(self.0.len()).unwrap_or_else(|_| {
                    panic!(concat!(stringify!($name), " holds {} bytes, more than its length field can express"), self.0.len())
                });
                len.encode(out);
                out.extend_from_slice(&self.0);
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}({})", stringify!($name), crate::hex::Hex(&self.0))
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&crate::hex::Hex(&self.0))
            }
        }

        impl From<Vec<u8>> for $name {
            fn from(v: Vec<u8>) -> Self {
                $name(v)
            }
        }

        impl core::ops::Deref for $name {
            type Target = [u8];
            fn deref(&self) -> &[u8] {
                &self.0
            }
        }
    };
}

counted_bytes!(
    /// Bytes preceded by their length in one octet.
    Bytes8,
    u8
);
counted_bytes!(
    /// Bytes preceded by their length in two octets (EIR and advertising data blocks).
    Bytes16,
    u16
);

/// Items that run to the end of the message, with no count in front (the count is implied by
/// the parameter length).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
pub struct Rest<T>(pub Vec<T>);

impl<T: Wire> Wire for Rest<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut items = Vec::new();
        while r.remaining() > 0 {
            items.push(T::decode(r)?);
        }
        Ok(Rest(items))
    }
    fn encode(&self, out: &mut Vec<u8>) {
        for item in &self.0 {
            item.encode(out);
        }
    }
}

/// Bytes that run to the end of the message.
#[derive(Clone, PartialEq, Eq, Default, Hash)]
pub struct RestBytes(pub Vec<u8>);

impl Wire for RestBytes {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RestBytes(r.take_rest().to_vec()))
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl core::fmt::Debug for RestBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RestBytes({})", crate::hex::Hex(&self.0))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for RestBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&crate::hex::Hex(&self.0))
    }
}

/// Defines a message layout: a struct whose fields are read and written in declaration order,
/// each through its own [`Wire`] implementation.
///
/// ```text
/// wire_struct! {
///     /// Parameters of User Confirmation Request.
///     pub struct UserConfirmRequest {
///         /// The peer.
///         pub address: AddressInfo,
///         /// 0x01: only ask yes/no; 0x00: show `value` for comparison.
///         pub confirm_hint: u8,
///         /// The six-digit value.
///         pub value: u32,
///     }
/// }
/// ```
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $fvis:vis $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty, )*
        }

        impl $crate::wire::Wire for $name {
            #[allow(unused_variables)]
            fn decode(r: &mut $crate::wire::Reader<'_>) -> Result<Self, $crate::DecodeError> {
                $(
                    r.set_field(stringify!($field));
                    let $field = <$ty as $crate::wire::Wire>::decode(r)?;
                )*
                Ok(Self { $($field),* })
            }
            #[allow(unused_variables)]
            fn encode(&self, out: &mut Vec<u8>) {
                $( $crate::wire::Wire::encode(&self.$field, out); )*
            }
        }
    };
}

/// Defines an open number space: a newtype over an integer with named constants, whose
/// `Debug` and `Display` print the name (or hex when the value is not one we know). Unknown
/// values are values, never errors.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($int:ty) {
            $(
                $(#[$cmeta:meta])*
                $konst:ident = $value:literal => $text:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        $vis struct $name(pub $int);

        impl $name {
            $(
                $(#[$cmeta])*
                pub const $konst: $name = $name($value);
            )*

            /// Every named value, in numeric order as declared.
            pub const KNOWN: &'static [$name] = &[$($name($value)),*];

            /// The value's name as the API documents it, if it is one we know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($text), )*
                    _ => None,
                }
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({})", stringify!($name), n),
                    None => write!(f, "{}({:#04x})", stringify!($name), self.0),
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "unknown {:#04x}", self.0),
                }
            }
        }

        impl From<$int> for $name {
            fn from(v: $int) -> Self {
                $name(v)
            }
        }

        impl From<$name> for $int {
            fn from(v: $name) -> Self {
                v.0
            }
        }

        impl $crate::wire::Wire for $name {
            fn decode(r: &mut $crate::wire::Reader<'_>) -> Result<Self, $crate::DecodeError> {
                <$int as $crate::wire::Wire>::decode(r).map($name)
            }
            fn encode(&self, out: &mut Vec<u8>) {
                $crate::wire::Wire::encode(&self.0, out)
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

/// Implements, for a `bitflags` type over an integer: names of the set bits
/// (lowercase with dashes, `bit-N` for unnamed ones), parsing one name, `Display` (names
/// separated by spaces, or `none`), [`Wire`] (keeping unknown bits) and serialisation as a
/// list of names.
macro_rules! mask_impls {
    ($t:ident, $int:ty) => {
        impl $t {
            /// The names of the set bits, lowercase with dashes (`"secure-conn"`), then
            /// `"bit-N"` for set bits without a name.
            pub fn names(self) -> Vec<String> {
                let mut out: Vec<String> = self
                    .iter_names()
                    .map(|(n, _)| n.to_ascii_lowercase().replace('_', "-"))
                    .collect();
                let named = <$t as bitflags::Flags>::FLAGS
                    .iter()
                    .filter(|f| f.is_named())
                    .fold(0, |a, f| a | f.value().bits());
                for bit in 0..<$int>::BITS {
                    let f: $int = 1 << bit;
                    if self.bits() & f != 0 && named & f == 0 {
                        out.push(format!("bit-{bit}"));
                    }
                }
                out
            }

            /// The flag called `name` as [`names`](Self::names) prints it.
            pub fn from_flag_name(name: &str) -> Option<$t> {
                let want = name.to_ascii_uppercase().replace('-', "_");
                <$t as bitflags::Flags>::FLAGS
                    .iter()
                    .find(|f| f.is_named() && f.name() == want)
                    .map(|f| *f.value())
            }
        }

        impl core::fmt::Display for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let names = self.names();
                if names.is_empty() {
                    f.write_str("none")
                } else {
                    f.write_str(&names.join(" "))
                }
            }
        }

        impl $crate::wire::Wire for $t {
            fn decode(r: &mut $crate::wire::Reader<'_>) -> Result<Self, $crate::DecodeError> {
                <$int as $crate::wire::Wire>::decode(r).map(<$t>::from_bits_retain)
            }
            fn encode(&self, out: &mut Vec<u8>) {
                $crate::wire::Wire::encode(&self.bits(), out)
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.names())
            }
        }
    };
}

pub(crate) use mask_impls;
pub(crate) use open_enum;
pub(crate) use wire_struct;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_field_names_field_and_lengths() {
        let mut r = Reader::new("Test", &[1, 2, 3]);
        r.set_field("value");
        let e = u32::decode(&mut r).unwrap_err();
        assert_eq!(e.message(), "Test");
        assert_eq!(e.field(), "value");
        assert_eq!(
            e.problem(),
            Problem::Truncated {
                expected: 4,
                actual: 3
            }
        );
    }

    #[test]
    fn huge_count_is_rejected_before_allocating() {
        let e = decode_exact::<List16<u32>>("Test", &[0xff, 0xff, 1, 2]).unwrap_err();
        assert!(matches!(e.problem(), Problem::Truncated { .. }));
    }

    #[test]
    fn trailing_bytes_rejected() {
        let e = decode_exact::<u16>("Test", &[1, 2, 3]).unwrap_err();
        assert_eq!(
            e.problem(),
            Problem::TrailingBytes {
                expected: 2,
                actual: 3
            }
        );
    }

    #[test]
    fn bool_rejects_other_values() {
        let e = decode_exact::<bool>("Test", &[2]).unwrap_err();
        assert_eq!(e.problem(), Problem::InvalidValue { value: 2 });
        assert_eq!(e.offset(), 0);
    }

    #[test]
    fn option_tail_round_trips() {
        assert_eq!(decode_exact::<Option<u8>>("Test", &[]).unwrap(), None);
        assert_eq!(decode_exact::<Option<u8>>("Test", &[7]).unwrap(), Some(7));
        assert_eq!(encode_to_vec(&Some(7u8)), vec![7]);
        assert!(encode_to_vec(&None::<u8>).is_empty());
    }
}
