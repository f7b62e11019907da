//! Heredoc recognition and bodies, restating the cases of BuildKit's
//! `parser_heredoc_test.go`.

use wharf_build::dockerfile::{parse, parse_heredoc, Heredoc, Instruction};

const DOCKERFILE: &str = "
FROM alpine:3.6

ENV NAME=me

RUN ls

RUN <<EMPTY
EMPTY

RUN 3<<EMPTY2
EMPTY2

RUN \"<<NOHEREDOC\"

RUN <<INDENT
\tfoo
\tbar
INDENT

RUN <<-UNINDENT
\tbaz
\tquux
UNINDENT

RUN <<-UNINDENT2
\tbaz
\tquux
\tUNINDENT2

RUN <<-EXPAND
\texpand $NAME
EXPAND

RUN <<-'NOEXPAND'
\tdon't expand $NAME
NOEXPAND

RUN <<COPY
echo hello world
echo foo bar
COPY

RUN <<COMMENT
# internal comment
echo hello world
echo foo bar # trailing comment
COMMENT

RUN --mount=type=cache,target=/foo <<MOUNT
echo hello
MOUNT

COPY <<FILE1 <<FILE2 /dest
content 1
FILE1
content 2
FILE2

COPY <<EOF /quotes
\"foo\"
'bar'
EOF

COPY <<X <<Y /dest
Y
X
X
Y

RUN <<COMPLEX python3
print('hello world')
COMPLEX

COPY <<file.txt /dest
hello world
file.txt

RUN <<eo'f'
echo foo
eof

RUN <<eo\\'f
echo foo
eo'f

RUN <<'e'o\\'f
echo foo
eo'f

RUN <<'one two'
echo bar
one two

RUN <<$EOF
$EOF

RUN <<  EOF
EOF

RUN <<  EOF  > foo
EOF
\t";

fn h(name: &str, content: &str, expand: bool, chomp: bool) -> Heredoc {
    Heredoc {
        name: name.into(),
        content: content.into(),
        expand,
        chomp,
        fd: None,
    }
}

#[test]
fn buildkit_heredoc_table() {
    let df = parse(DOCKERFILE).unwrap();
    let got: Vec<Vec<Heredoc>> = df.stages[0]
        .instructions
        .iter()
        .map(|n| match &n.instruction {
            Instruction::Run(r) => r.heredocs.clone(),
            Instruction::Copy(c) => c.heredocs.clone(),
            _ => Vec::new(),
        })
        .collect();
    let mut empty2 = h("EMPTY2", "", true, false);
    empty2.fd = Some(3);
    let want: Vec<Vec<Heredoc>> = vec![
        vec![],
        vec![],
        vec![h("EMPTY", "", true, false)],
        vec![empty2],
        vec![],
        vec![h("INDENT", "\tfoo\n\tbar\n", true, false)],
        // `<<-` bodies come already without their leading tabs.
        vec![h("UNINDENT", "baz\nquux\n", true, true)],
        vec![h("UNINDENT2", "baz\nquux\n", true, true)],
        vec![h("EXPAND", "expand $NAME\n", true, true)],
        vec![h("NOEXPAND", "don't expand $NAME\n", false, true)],
        vec![h("COPY", "echo hello world\necho foo bar\n", true, false)],
        vec![h(
            "COMMENT",
            "# internal comment\necho hello world\necho foo bar # trailing comment\n",
            true,
            false,
        )],
        vec![h("MOUNT", "echo hello\n", true, false)],
        vec![
            h("FILE1", "content 1\n", true, false),
            h("FILE2", "content 2\n", true, false),
        ],
        vec![h("EOF", "\"foo\"\n'bar'\n", true, false)],
        vec![h("X", "Y\n", true, false), h("Y", "X\n", true, false)],
        vec![h("COMPLEX", "print('hello world')\n", true, false)],
        vec![h("file.txt", "hello world\n", true, false)],
        vec![h("eof", "echo foo\n", false, false)],
        vec![h("eo'f", "echo foo\n", true, false)],
        vec![h("eo'f", "echo foo\n", false, false)],
        vec![h("one two", "echo bar\n", false, false)],
        vec![h("$EOF", "", true, false)],
        vec![h("EOF", "", true, false)],
        vec![h("EOF", "", true, false)],
    ];
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g, w,
            "instruction {i}: {}",
            df.stages[0].instructions[i].original
        );
    }
}

#[test]
fn heredoc_words() {
    for src in [
        "<<EOF",
        "<<'EOF'",
        "<<\"EOF\"",
        "<<-EOF",
        "<<-'EOF'",
        "<<-\"EOF\"",
        "<<EO\"F\"",
        "<< EOF",
        "<<- EOF",
    ] {
        let h = parse_heredoc(src)
            .unwrap()
            .unwrap_or_else(|| panic!("{src}"));
        assert_eq!(h.name, "EOF", "{src}");
    }
    for src in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
        assert!(parse_heredoc(src).is_err(), "{src}");
    }
    for src in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"] {
        assert_eq!(parse_heredoc(src).unwrap(), None, "{src}");
    }
}

#[test]
fn heredocs_on_a_line() {
    let cases: &[(&str, &[&str])] = &[
        ("RUN <<EOF", &["EOF"]),
        ("RUN <<-EOF", &["EOF"]),
        ("RUN <<- EOF", &["EOF"]),
        ("RUN << -EOF", &["-EOF"]),
        ("RUN <<'EOF'", &["EOF"]),
        ("RUN 4<<EOF", &["EOF"]),
        ("RUN <<EOF <<EOF2", &["EOF", "EOF2"]),
        ("RUN '<<EOF'", &[]),
        ("RUN \"<<EOF\"", &[]),
    ];
    for (line, names) in cases {
        let mut text = format!("FROM x\n{line}\n");
        for n in names.iter() {
            text.push_str(&format!("body\n{n}\n"));
        }
        text.push_str("RUN last\n");
        let df = parse(&text).unwrap_or_else(|e| panic!("{line}: {e}"));
        let n = &df.stages[0].instructions;
        assert_eq!(n.len(), 2, "{line}");
        let Instruction::Run(r) = &n[0].instruction else {
            panic!()
        };
        let got: Vec<&str> = r.heredocs.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(got, *names, "{line}");
    }
}
