//! Property tests for the msgpack parser's decoder: MessagePack of any
//! shape (every extension notepack.io gives a meaning to included) either
//! decodes or is refused, never panics, and what decodes comes back the
//! same through our encoder and decoder again, as a server relaying it
//! passes it on.

#![allow(clippy::unwrap_used, reason = "test code")]

use proptest::collection::vec;
use proptest::prelude::*;
use rmpv::Value as Pack;
use switchboard_protocol::socket::{decode_msgpack, encode_msgpack};

/// Any MessagePack value a few levels deep: rmpv writes an extension of
/// one byte as fixext 1 (notepack's `undefined` when its type is 0), of
/// eight as fixext 8 (a `Date`), and other lengths as ext 8 (binary).
fn value() -> impl Strategy<Value = Pack> {
    let leaf = prop_oneof![
        Just(Pack::Nil),
        any::<bool>().prop_map(Pack::Boolean),
        any::<i64>().prop_map(Pack::from),
        any::<u64>().prop_map(Pack::from),
        any::<f32>().prop_map(Pack::F32),
        any::<f64>().prop_map(Pack::F64),
        any::<String>().prop_map(Pack::from),
        vec(any::<u8>(), 0..40).prop_map(Pack::Binary),
        (
            -2i8..3,
            prop_oneof![
                vec(any::<u8>(), 1..2),
                vec(any::<u8>(), 8..9),
                vec(any::<u8>(), 0..20)
            ]
        )
            .prop_map(|(kind, data)| Pack::Ext(kind, data)),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Pack::Array),
            vec(
                (
                    prop_oneof![
                        any::<String>().prop_map(Pack::from),
                        any::<i32>().prop_map(Pack::from)
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(Pack::Map),
        ]
    })
}

/// A packet map as socket.io-msgpack-parser writes it, its fields of any
/// value now and then.
fn packet() -> impl Strategy<Value = Vec<u8>> {
    (
        0u64..6,
        value(),
        prop_oneof![
            Just(Pack::from("/")),
            any::<String>().prop_map(Pack::from),
            value()
        ],
        prop_oneof![
            Just(None),
            any::<u64>().prop_map(|id| Some(Pack::from(id))),
            value().prop_map(Some)
        ],
        any::<String>(),
    )
        .prop_map(|(kind, data, nsp, id, name)| {
            let data = match kind {
                2 | 3 => Pack::Array(vec![Pack::from(name), data]),
                _ => data,
            };
            let mut entries = vec![
                (Pack::from("type"), Pack::from(kind)),
                (Pack::from("data"), data),
                (Pack::from("nsp"), nsp),
            ];
            if let Some(id) = id {
                entries.push((Pack::from("id"), id));
            }
            let mut out = Vec::new();
            rmpv::encode::write_value(&mut out, &Pack::Map(entries)).unwrap();
            out
        })
}

fn relayed(bytes: &[u8]) -> Option<Vec<u8>> {
    let (packet, attachments) = decode_msgpack(bytes, 10).ok()?;
    Some(encode_msgpack(
        packet.kind,
        &packet.nsp,
        packet.id,
        packet.data.as_deref(),
        &attachments,
    ))
}

/// What decodes is relayed unchanged from then on: our encoding of it is a
/// fixed point. (Not byte for byte the input: maps come out with their keys
/// sorted, integers in their shortest form, `undefined` left out.)
fn roundtrips(bytes: &[u8]) {
    if let Some(once) = relayed(bytes) {
        assert_eq!(relayed(&once).as_ref(), Some(&once));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn packets_decode_or_are_refused_and_roundtrip(bytes in packet()) {
        roundtrips(&bytes);
    }

    #[test]
    fn damaged_packets_never_panic(bytes in packet(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut damaged = bytes.clone();
        damaged[at.index(bytes.len())] = byte;
        roundtrips(&damaged);
        roundtrips(&bytes[..cut.index(bytes.len())]);
    }

    #[test]
    fn any_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        roundtrips(&bytes);
    }
}
