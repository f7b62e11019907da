//! The DNS message format (RFC 1035 section 4), only as far as the
//! embedded server needs it: a query's header and single question (names
//! with compression pointers), the OPT record of EDNS (RFC 6891) for the
//! client's UDP size, and replies carrying A and PTR answers.
//!
//! Every read is bounds-checked; a compression pointer must point before
//! the previous one, so a chain of pointers always ends.

use std::net::Ipv4Addr;

/// Length of the fixed header.
pub const HEADER_LEN: usize = 12;
/// Record type of an IPv4 address.
pub const TYPE_A: u16 = 1;
/// Record type of a reverse (address to name) pointer.
pub const TYPE_PTR: u16 = 12;
/// Record type of an IPv6 address.
pub const TYPE_AAAA: u16 = 28;
/// Record type of the EDNS pseudo-record.
pub const TYPE_OPT: u16 = 41;
/// Query type asking for every record.
pub const TYPE_ANY: u16 = 255;
/// The Internet class.
pub const CLASS_IN: u16 = 1;
/// Response code: no error.
pub const RCODE_NOERROR: u8 = 0;
/// Response code: the query could not be interpreted.
pub const RCODE_FORMERR: u8 = 1;
/// Response code: the server failed (no upstream answered).
pub const RCODE_SERVFAIL: u8 = 2;
/// Response code: the kind of query is not implemented.
pub const RCODE_NOTIMP: u8 = 4;
/// Response code: the server will not answer (too busy).
pub const RCODE_REFUSED: u8 = 5;
/// Time to live of local answers, in seconds (Docker's value).
pub const TTL: u32 = 600;
/// UDP size a plain (non-EDNS) client accepts (RFC 1035).
pub const PLAIN_UDP_SIZE: usize = 512;
/// UDP size this server advertises and accepts at most.
pub const EDNS_UDP_SIZE: u16 = 1232;

const FLAG_QR: u16 = 0x8000;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
const FLAG_RA: u16 = 0x0080;
const FLAG_CD: u16 = 0x0010;
const MAX_NAME_LEN: usize = 255;
const MAX_LABEL_LEN: usize = 63;

/// Why a message was not parsed as a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Not worth an answer: shorter than a header, or itself a response.
    Drop,
    /// Answer with this response code and the header's id (FORMERR, NOTIMP).
    Rcode(u8),
}

/// A query with one question, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Message id, echoed in the reply.
    pub id: u16,
    /// The query's header flags (RD and CD are echoed).
    pub flags: u16,
    /// The question's labels as sent (case kept: some clients check it).
    pub labels: Vec<Vec<u8>>,
    /// Question type.
    pub qtype: u16,
    /// Question class.
    pub qclass: u16,
    /// UDP payload size from the client's OPT record, if it sent one.
    pub edns_size: Option<u16>,
}

/// One answer record's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rdata {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// A domain name (dotted text) for a PTR record.
    Ptr(String),
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, Reject> {
        let b = *self.msg.get(self.pos).ok_or(FORMERR)?;
        self.pos += 1;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, Reject> {
        Ok(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }

    fn skip(&mut self, n: usize) -> Result<(), Reject> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.msg.len() => {
                self.pos = end;
                Ok(())
            }
            _ => Err(FORMERR),
        }
    }

    fn name(&mut self) -> Result<Vec<Vec<u8>>, Reject> {
        let (labels, end) = read_name(self.msg, self.pos)?;
        self.pos = end;
        Ok(labels)
    }

    /// Skips one resource record, returning its type and class.
    fn record(&mut self) -> Result<(u16, u16), Reject> {
        self.name()?;
        let rtype = self.u16()?;
        let class = self.u16()?;
        self.skip(4)?;
        let rdlen = self.u16()?;
        self.skip(usize::from(rdlen))?;
        Ok((rtype, class))
    }
}

const FORMERR: Reject = Reject::Rcode(RCODE_FORMERR);

/// Reads the name at `pos` in `msg`, following compression pointers; also
/// returns where the name's bytes end in place (after its first pointer).
/// A pointer must point before where the current run of labels began, so
/// every chain ends; names are at most 255 bytes long.
pub fn read_name(msg: &[u8], pos: usize) -> Result<(Vec<Vec<u8>>, usize), Reject> {
    let mut labels = Vec::new();
    let mut len = 1;
    let mut at = pos;
    let mut limit = pos;
    let mut end = None;
    loop {
        let n = *msg.get(at).ok_or(FORMERR)?;
        if n == 0 {
            return Ok((labels, end.unwrap_or(at + 1)));
        }
        match n & 0xC0 {
            0 => {
                let n = usize::from(n);
                len += n + 1;
                let label = msg.get(at + 1..at + 1 + n).ok_or(FORMERR)?;
                if len > MAX_NAME_LEN {
                    return Err(FORMERR);
                }
                labels.push(label.to_vec());
                at += 1 + n;
            }
            0xC0 => {
                let low = *msg.get(at + 1).ok_or(FORMERR)?;
                let target = usize::from(n & 0x3F) << 8 | usize::from(low);
                if target >= limit {
                    return Err(FORMERR);
                }
                end.get_or_insert(at + 2);
                limit = target;
                at = target;
            }
            // 0x40 and 0x80: extended label types (RFC 6891 dropped them).
            _ => return Err(FORMERR),
        }
    }
}

/// Parses a query: one question, standard opcode, any OPT record noted.
pub fn parse_query(msg: &[u8]) -> Result<Query, Reject> {
    if msg.len() < HEADER_LEN {
        return Err(Reject::Drop);
    }
    let mut r = Reader { msg, pos: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    if flags & FLAG_QR != 0 {
        return Err(Reject::Drop);
    }
    if (flags >> 11) & 0xF != 0 {
        return Err(Reject::Rcode(RCODE_NOTIMP));
    }
    let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
    if counts[0] != 1 {
        return Err(FORMERR);
    }
    let labels = r.name()?;
    let qtype = r.u16()?;
    let qclass = r.u16()?;
    for _ in 0..u32::from(counts[1]) + u32::from(counts[2]) {
        r.record()?;
    }
    let mut edns_size = None;
    for _ in 0..counts[3] {
        let (rtype, class) = r.record()?;
        if rtype == TYPE_OPT {
            edns_size = Some(class);
        }
    }
    Ok(Query {
        id,
        flags,
        labels,
        qtype,
        qclass,
        edns_size,
    })
}

/// A reply carrying only a response code, for a message whose question
/// could not be read (the header's id and RD bit are echoed).
pub fn error_reply(msg: &[u8], rcode: u8) -> Option<Vec<u8>> {
    let head = msg.get(..4)?;
    let flags = u16::from(head[2]) << 8 | u16::from(head[3]);
    let flags = FLAG_QR | (flags & 0x7800) | (flags & FLAG_RD) | FLAG_RA | u16::from(rcode & 0xF);
    let mut out = head[..2].to_vec();
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    Some(out)
}

/// Encodes the reply to `query`: its question, then as many `answers` as
/// fit in `limit` bytes (TC set when some did not), then an OPT record if
/// the query had one. Answers name the question through a pointer.
pub fn encode_reply(query: &Query, rcode: u8, answers: &[Rdata], limit: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(PLAIN_UDP_SIZE);
    out.extend_from_slice(&query.id.to_be_bytes());
    out.extend_from_slice(&[0; 10]);
    push_name(&mut out, &query.labels);
    out.extend_from_slice(&query.qtype.to_be_bytes());
    out.extend_from_slice(&query.qclass.to_be_bytes());
    let opt_len = if query.edns_size.is_some() { 11 } else { 0 };
    let mut count: u16 = 0;
    let mut truncated = false;
    for answer in answers {
        let start = out.len();
        out.extend_from_slice(&[0xC0, HEADER_LEN as u8]);
        let (rtype, rdata) = match answer {
            Rdata::A(ip) => (TYPE_A, ip.octets().to_vec()),
            Rdata::Ptr(name) => (TYPE_PTR, encode_name(name)),
        };
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&TTL.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
        if out.len() + opt_len > limit || count == u16::MAX {
            out.truncate(start);
            truncated = true;
            break;
        }
        count += 1;
    }
    if query.edns_size.is_some() {
        out.push(0);
        out.extend_from_slice(&TYPE_OPT.to_be_bytes());
        out.extend_from_slice(&EDNS_UDP_SIZE.to_be_bytes());
        out.extend_from_slice(&[0; 6]);
    }
    let echoed = query.flags & (FLAG_RD | FLAG_CD);
    let mut flags = FLAG_QR | echoed | FLAG_RA | u16::from(rcode & 0xF);
    if truncated {
        flags |= FLAG_TC;
    }
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    out[4..6].copy_from_slice(&1u16.to_be_bytes());
    out[6..8].copy_from_slice(&count.to_be_bytes());
    out[10..12].copy_from_slice(&u16::from(opt_len != 0).to_be_bytes());
    out
}

fn push_name(out: &mut Vec<u8>, labels: &[Vec<u8>]) {
    for label in labels {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
}

/// Encodes dotted text as a name; labels that are empty or too long are
/// left out, and the name is cut at 255 bytes, so the result is always valid.
pub fn encode_name(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in text
        .split('.')
        .filter(|l| !l.is_empty() && l.len() <= MAX_LABEL_LEN)
    {
        if out.len() + label.len() + 2 > MAX_NAME_LEN {
            break;
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// The response code of a DNS message (the header's low four bits).
pub fn rcode(msg: &[u8]) -> Option<u8> {
    msg.get(3).map(|b| b & 0xF)
}

/// The message id of a DNS message (its first two bytes).
pub fn message_id(msg: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.first()?, *msg.get(1)?]))
}
