//! # stead-handover
//!
//! How the stead supervisor hands its held sockets (`sockets = [...]`) to a program on
//! Windows, where descriptors cannot be passed by number as systemd's protocol does on Unix.
//!
//! After creating the program's process, the supervisor calls `WSADuplicateSocketW` for each
//! held socket with the new process's id, which fills a `WSAPROTOCOL_INFOW` the program turns
//! into its own socket (`WSASocketW` with `FROM_PROTOCOL_INFO`). Those structures travel in
//! one [message](Message) down an anonymous pipe: the program inherits the pipe's read end,
//! whose handle value is in [`HANDLE_VAR`]; the supervisor writes the message and closes its
//! write end, so the program reads to the end of the pipe and has everything. [`PARENT_VAR`]
//! holds the supervisor's process id: a process whose parent is another (a grandchild that
//! inherited the environment) must not touch the handle, which means nothing there.
//!
//! This crate is the part both sides must agree on: the variables and the bytes. It does no
//! I/O and builds on every OS, so the format is tested on all of them.
//!
//! ```
//! use stead_handover::{Handed, Message};
//!
//! let sent = Message {
//!     pid: 4242,
//!     sockets: vec![Handed { name: "http".into(), info: vec![7; 628] }],
//! };
//! let bytes = sent.encode().unwrap();
//! assert_eq!(Message::decode(&bytes).unwrap(), sent);
//! ```
//!
//! ## Why a crate of its own
//!
//! The writer is the supervisor (`stead-supervisor`), the reader the library services link
//! (`stead`). The only crate they share, `stead-config`, carries the config parser (TOML,
//! regular expressions), which the library keeps out of services on purpose; neither depends
//! on the other. A leaf crate with nothing but the format keeps both sides on one definition
//! at no cost to a service's size.
//!
//! ## The format, version 1
//!
//! Every integer is little-endian.
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic: `STSK` |
//! | 2 | format version: 1 |
//! | 2 | number of sockets, at most [`MAX_SOCKETS`] |
//! | 4 | the process id the sockets were duplicated for |
//!
//! then for each socket, in the order the program's config lists them:
//!
//! | bytes | field |
//! |---|---|
//! | 2 | length of the name, 1 to [`MAX_NAME`] |
//! | that many | the socket's name (UTF-8; stead's names are printable ASCII without `:`) |
//! | 4 | length of the protocol information, at most [`MAX_INFO`] |
//! | that many | the `WSAPROTOCOL_INFOW` that `WSADuplicateSocketW` filled, as it lies in memory (628 bytes on 64-bit Windows) |
//!
//! Nothing follows the last socket. A reader refuses a version it does not know, rather than
//! misread a newer supervisor's message: a change of layout is a new version.

/// The environment variable that holds the handle value (decimal) of the inherited read end
/// of the pipe the message comes down.
pub const HANDLE_VAR: &str = "STEAD_SOCKETS_HANDLE";

/// The environment variable that holds the supervisor's process id (decimal): the message is
/// for a process whose parent that is, and no other.
pub const PARENT_VAR: &str = "STEAD_SOCKETS_PARENT";

/// The first four bytes of every message.
pub const MAGIC: [u8; 4] = *b"STSK";

/// The format version this crate writes and reads.
pub const VERSION: u16 = 1;

/// The most sockets one message carries (the supervisor's own limit on a program's sockets
/// is lower than any program needs).
pub const MAX_SOCKETS: usize = 4096;

/// The longest name, in bytes (systemd's limit for `FileDescriptorName=`).
pub const MAX_NAME: usize = 255;

/// The largest protocol information accepted. A `WSAPROTOCOL_INFOW` is 628 bytes; the bound
/// only keeps a damaged length from asking for much memory.
pub const MAX_INFO: usize = 4096;

const HEADER: usize = 4 + 2 + 2 + 4;

/// One socket of a [`Message`]: its name and the `WSAPROTOCOL_INFOW` bytes for the receiving
/// process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handed {
    /// The socket's name (`name` in the config; the program's name by default).
    pub name: String,
    /// The `WSAPROTOCOL_INFOW` that `WSADuplicateSocketW` filled, byte for byte.
    pub info: Vec<u8>,
}

/// What the supervisor writes down the pipe: the sockets, and the process they are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The process id the sockets were duplicated for; a reader with another id ignores them.
    pub pid: u32,
    /// The sockets, in the config's order.
    pub sockets: Vec<Handed>,
}

/// A message that cannot be written or read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The bytes do not start with [`MAGIC`]: not a message of this protocol.
    #[error(
        "the handed-sockets pipe does not start with `STSK`: it is not a message from the stead supervisor"
    )]
    NotAMessage,
    /// A version this crate does not read.
    #[error(
        "the handed sockets are in format {found}, this library reads format {VERSION}: use a stead library from the same release as the supervisor"
    )]
    Version {
        /// The version in the message.
        found: u16,
    },
    /// The message ends before a field is complete.
    #[error("the handed-sockets message ends inside {what} (byte {at})")]
    Truncated {
        /// The field that is cut short.
        what: &'static str,
        /// Where it begins.
        at: usize,
    },
    /// More sockets than [`MAX_SOCKETS`].
    #[error("{count} sockets are more than one message carries (at most {MAX_SOCKETS})")]
    TooMany {
        /// How many there were.
        count: usize,
    },
    /// A name that is empty, longer than [`MAX_NAME`] or not UTF-8.
    #[error("socket {index}'s name is not 1 to {MAX_NAME} bytes of UTF-8")]
    Name {
        /// The socket's position, from 0.
        index: usize,
    },
    /// Protocol information longer than [`MAX_INFO`].
    #[error("socket {index}'s protocol information is {len} bytes, more than {MAX_INFO}")]
    Info {
        /// The socket's position, from 0.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// Bytes after the last socket.
    #[error("{extra} bytes follow the last handed socket")]
    Trailing {
        /// How many.
        extra: usize,
    },
}

impl Message {
    /// The message's bytes.
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        let count = u16::try_from(self.sockets.len())
            .ok()
            .filter(|n| usize::from(*n) <= MAX_SOCKETS)
            .ok_or(FormatError::TooMany {
                count: self.sockets.len(),
            })?;
        let mut out = Vec::with_capacity(encoded_len(
            self.sockets.iter().map(|s| (s.name.as_str(), s.info.len())),
        ));
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&self.pid.to_le_bytes());
        for (index, s) in self.sockets.iter().enumerate() {
            let name = u16::try_from(s.name.len())
                .ok()
                .filter(|n| (1..=MAX_NAME).contains(&usize::from(*n)))
                .ok_or(FormatError::Name { index })?;
            if s.info.len() > MAX_INFO {
                return Err(FormatError::Info {
                    index,
                    len: s.info.len(),
                });
            }
            out.extend_from_slice(&name.to_le_bytes());
            out.extend_from_slice(s.name.as_bytes());
            out.extend_from_slice(&(s.info.len() as u32).to_le_bytes());
            out.extend_from_slice(&s.info);
        }
        Ok(out)
    }

    /// Reads a whole message: everything the pipe gave until its end.
    pub fn decode(bytes: &[u8]) -> Result<Message, FormatError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4, "the magic")? != MAGIC {
            return Err(FormatError::NotAMessage);
        }
        let version = r.u16("the version")?;
        if version != VERSION {
            return Err(FormatError::Version { found: version });
        }
        let count = usize::from(r.u16("the number of sockets")?);
        if count > MAX_SOCKETS {
            return Err(FormatError::TooMany { count });
        }
        let pid = r.u32("the process id")?;
        let mut sockets = Vec::with_capacity(count);
        for index in 0..count {
            let len = usize::from(r.u16("a name's length")?);
            if !(1..=MAX_NAME).contains(&len) {
                return Err(FormatError::Name { index });
            }
            let name = std::str::from_utf8(r.take(len, "a name")?)
                .map_err(|_| FormatError::Name { index })?
                .to_string();
            let len = r.u32("a protocol information's length")? as usize;
            if len > MAX_INFO {
                return Err(FormatError::Info { index, len });
            }
            let info = r.take(len, "a protocol information")?.to_vec();
            sockets.push(Handed { name, info });
        }
        if r.at != bytes.len() {
            return Err(FormatError::Trailing {
                extra: bytes.len() - r.at,
            });
        }
        Ok(Message { pid, sockets })
    }
}

/// The length of the message for sockets of these names and protocol information lengths:
/// what the writer sizes the pipe's buffer to, so that writing never waits for the reader.
///
/// ```
/// use stead_handover::{Handed, Message, encoded_len};
/// let m = Message { pid: 1, sockets: vec![Handed { name: "a".into(), info: vec![0; 628] }] };
/// assert_eq!(encoded_len([("a", 628)]), m.encode().unwrap().len());
/// ```
pub fn encoded_len<'a>(sockets: impl IntoIterator<Item = (&'a str, usize)>) -> usize {
    HEADER
        + sockets
            .into_iter()
            .map(|(name, info)| 2 + name.len() + 4 + info)
            .sum::<usize>()
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        let at = self.at;
        let end = at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(FormatError::Truncated { what, at })?;
        self.at = end;
        Ok(&self.bytes[at..end])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, FormatError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, FormatError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn two() -> Message {
        Message {
            pid: 0x0102_0304,
            sockets: vec![
                Handed {
                    name: "http".into(),
                    info: vec![0xAA, 0xBB],
                },
                Handed {
                    name: "a".into(),
                    info: vec![],
                },
            ],
        }
    }

    #[test]
    fn the_bytes_are_those_the_format_describes() {
        let bytes = two().encode().unwrap();
        let expected: Vec<u8> = [
            &b"STSK"[..],
            &[1, 0],       // version
            &[2, 0],       // two sockets
            &[4, 3, 2, 1], // pid, little-endian
            &[4, 0],
            b"http",
            &[2, 0, 0, 0],
            &[0xAA, 0xBB],
            &[1, 0],
            b"a",
            &[0, 0, 0, 0],
        ]
        .concat();
        assert_eq!(bytes, expected);
        assert_eq!(Message::decode(&bytes).unwrap(), two());
        assert_eq!(
            encoded_len(
                two()
                    .sockets
                    .iter()
                    .map(|s| (s.name.as_str(), s.info.len()))
            ),
            bytes.len()
        );
    }

    #[test]
    fn no_sockets_is_a_message_too() {
        let m = Message {
            pid: 7,
            sockets: vec![],
        };
        assert_eq!(Message::decode(&m.encode().unwrap()).unwrap(), m);
    }

    #[test]
    fn damaged_messages_say_what_is_wrong() {
        let good = two().encode().unwrap();
        assert_eq!(Message::decode(b"HTTP/1.1"), Err(FormatError::NotAMessage));
        assert_eq!(
            Message::decode(b""),
            Err(FormatError::Truncated {
                what: "the magic",
                at: 0
            })
        );
        let mut newer = good.clone();
        newer[4] = 2;
        let e = Message::decode(&newer).unwrap_err();
        assert_eq!(e, FormatError::Version { found: 2 });
        assert!(e.to_string().contains("same release"), "{e}");
        assert_eq!(
            Message::decode(&good[..good.len() - 1]),
            Err(FormatError::Truncated {
                what: "a protocol information's length",
                at: good.len() - 4
            })
        );
        let mut longer = good.clone();
        longer.push(0);
        assert_eq!(
            Message::decode(&longer),
            Err(FormatError::Trailing { extra: 1 })
        );
        let mut empty_name = good.clone();
        empty_name[12] = 0;
        assert_eq!(
            Message::decode(&empty_name),
            Err(FormatError::Name { index: 0 })
        );
        let mut not_utf8 = good.clone();
        not_utf8[14] = 0xFF;
        assert_eq!(
            Message::decode(&not_utf8),
            Err(FormatError::Name { index: 0 })
        );
        let mut huge = good;
        huge[18..22].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            Message::decode(&huge),
            Err(FormatError::Info {
                index: 0,
                len: u32::MAX as usize
            })
        );
    }

    #[test]
    fn what_cannot_be_read_back_is_not_written() {
        let mut m = two();
        m.sockets[1].name = String::new();
        assert_eq!(m.encode(), Err(FormatError::Name { index: 1 }));
        m.sockets[1].name = "x".repeat(MAX_NAME + 1);
        assert_eq!(m.encode(), Err(FormatError::Name { index: 1 }));
        m.sockets[1].name = "x".repeat(MAX_NAME);
        m.sockets[1].info = vec![0; MAX_INFO + 1];
        assert!(matches!(
            m.encode(),
            Err(FormatError::Info { index: 1, .. })
        ));
        let many = Message {
            pid: 1,
            sockets: vec![
                Handed {
                    name: "s".into(),
                    info: vec![]
                };
                MAX_SOCKETS + 1
            ],
        };
        assert_eq!(
            many.encode(),
            Err(FormatError::TooMany {
                count: MAX_SOCKETS + 1
            })
        );
    }

    proptest! {
        #[test]
        fn every_message_reads_back_as_written(
            pid: u32,
            sockets in proptest::collection::vec(
                ("[!-9;-~]{1,40}", proptest::collection::vec(any::<u8>(), 0..700)),
                0..6,
            ),
        ) {
            let m = Message {
                pid,
                sockets: sockets
                    .into_iter()
                    .map(|(name, info)| Handed { name, info })
                    .collect(),
            };
            let bytes = m.encode().unwrap();
            prop_assert_eq!(Message::decode(&bytes).unwrap(), m);
            // Any message cut short is refused, never misread.
            for cut in 0..bytes.len() {
                prop_assert!(Message::decode(&bytes[..cut]).is_err());
            }
        }

        #[test]
        fn any_bytes_are_read_or_refused_without_panicking(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            header: bool,
        ) {
            let mut bytes = bytes;
            if header && bytes.len() >= 6 {
                bytes[..6].copy_from_slice(b"STSK\x01\x00");
            }
            let _ = Message::decode(&bytes);
        }
    }
}
