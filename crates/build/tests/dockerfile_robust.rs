//! The parser, lexer and planner never panic: thousands of Dockerfiles
//! stitched from tricky fragments (quotes, escapes, heredoc markers,
//! directives, flags, JSON, multi-byte characters) must each give a value
//! or an error. The generator is a fixed-seed LCG, so runs are repeatable.

use std::collections::BTreeMap;
use wharf_build::dockerfile::{lex::Lexer, parse, plan};

const FRAGMENTS: &[&str] = &[
    "FROM ",
    "from ",
    "RUN ",
    "COPY ",
    "ADD ",
    "ENV ",
    "ARG ",
    "LABEL ",
    "ONBUILD ",
    "HEALTHCHECK ",
    "CMD ",
    "ENTRYPOINT ",
    "SHELL ",
    "EXPOSE ",
    "VOLUME ",
    "WORKDIR ",
    "USER ",
    "STOPSIGNAL ",
    "MAINTAINER ",
    "AS ",
    " as b",
    "scratch",
    "busybox",
    "a=b",
    "\"",
    "'",
    "\\",
    "`",
    "$",
    "${",
    "}",
    "{",
    ":-",
    ":+",
    ":?",
    "#",
    "%",
    "/",
    "//",
    "<<",
    "<<-",
    "EOF",
    "\nEOF\n",
    "<<'E'",
    "\n",
    "\r\n",
    "\t",
    "  ",
    "[",
    "]",
    "[\"a\"]",
    "[\"a\", 1]",
    ",",
    "--from=",
    "--chown=1",
    "--link",
    "--mount=x",
    "--interval=1s",
    "--retries=",
    "--",
    "=",
    "# escape=`\n",
    "# syntax=x\n",
    "# comment\n",
    "NONE",
    "é",
    "한",
    "0",
    "1",
    "\u{feff}",
    "-",
    "=\"x y\"",
    "\\\n",
    "`\n",
];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

#[test]
fn random_dockerfiles_never_panic() {
    let mut rng = Lcg(0x5eed);
    let mut parsed = 0;
    let mut failed = 0;
    for _ in 0..20_000 {
        let n = 1 + rng.next() % 24;
        let mut text = String::new();
        for _ in 0..n {
            text.push_str(FRAGMENTS[rng.next() % FRAGMENTS.len()]);
        }
        match parse(&text) {
            Ok(df) => {
                parsed += 1;
                let args: BTreeMap<String, String> = [("a".to_string(), "1".to_string())].into();
                if let Ok(p) = plan(&df, &args, None) {
                    let mut scope = p.scope(vec![]);
                    for st in &df.stages {
                        for node in &st.instructions {
                            let _ = scope.apply(&node.instruction, df.escape);
                            let _ = node
                                .instruction
                                .created_by(&["/bin/sh".into(), "-c".into()]);
                        }
                    }
                }
            }
            Err(e) => {
                failed += 1;
                assert!(
                    e.line() <= text.lines().count().max(1) + 1,
                    "{e} for {text:?}"
                );
            }
        }
        for esc in ['\\', '`'] {
            let lx = Lexer::new(esc);
            let _ = lx.process_word(&text, &|n| (n.len() < 3).then(|| "v w".to_string()));
            let _ = lx.process_words(&text, &|_| None);
        }
    }
    // Both outcomes are exercised.
    assert!(parsed > 100, "{parsed}");
    assert!(failed > 100, "{failed}");
}
