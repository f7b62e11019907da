//! The shell-like lexer against the cases of Docker's own lexer tests
//! (`frontend/dockerfile/shell/envVarTest` and `wordsTest`), restated here.

use std::collections::BTreeMap;
use wharf_build::dockerfile::lex::Lexer;

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `input | expected` ("error" = must fail), with PWD=/home SHELL=bash
/// KOREAN=한국어 NULL= set.
const ENV_VAR_CASES: &str = r#"
hello                    | hello
he'll'o                  | hello
he'llo                   | error
he\'llo                  | he'llo
he\\'llo                 | error
abc\tdef                 | abctdef
"abc\tdef"               | abc\tdef
"abc\\tdef"              | abc\tdef
'abc\tdef'               | abc\tdef
hello\                   | hello
hello\\                  | hello\
"hello                   | error
"hello\"                 | error
"hel'lo"                 | hel'lo
'hello                   | error
'hello\'                 | hello\
'hello\there'            | hello\there
'hello\\there'           | hello\\there
"''"                     | ''
$.                       | $.
he$1x                    | hex
he$.x                    | he$.x
he$pwd.                  | he.
he$PWD                   | he/home
he\$PWD                  | he$PWD
he\\$PWD                 | he\/home
"he\$PWD"                | he$PWD
"he\\$PWD"               | he\/home
\${}                     | ${}
\${}aaa                  | ${}aaa
he\${}                   | he${}
he\${}xx                 | he${}xx
${}                      | error
${}xx                    | error
he${}                    | error
he${}xx                  | error
he${hi}                  | he
he${hi}xx                | hexx
he${PWD}                 | he/home
he${.}                   | error
he${XXX:-000}xx          | he000xx
he${PWD:-000}xx          | he/homexx
he${XXX:-$PWD}xx         | he/homexx
he${XXX:-${PWD:-yyy}}xx  | he/homexx
he${XXX:-${YYY:-yyy}}xx  | heyyyxx
he${XXX:YYY}             | error
he${XXX?}                | error
he${XXX:?}               | error
he${PWD?}                | he/home
he${PWD:?}               | he/home
he${NULL?}               | he
he${NULL:?}              | error
he${XXX:+${PWD}}xx       | hexx
he${PWD:+${XXX}}xx       | hexx
he${PWD:+${SHELL}}xx     | hebashxx
he${XXX:+000}xx          | hexx
he${PWD:+000}xx          | he000xx
he${NULL-000}xx          | hexx
he${NULL:-000}xx         | he000xx
he${NULL+000}xx          | he000xx
he${NULL:+000}xx         | hexx
'he${XX}'                | he${XX}
"he${PWD}"               | he/home
"he'$PWD'"               | he'/home'
"$PWD"                   | /home
'$PWD'                   | $PWD
'\$PWD'                  | \$PWD
'"hello"'                | "hello"
'he\$PWD'                | he\$PWD
he${PWD                  | error
he${PWD:=000}xx          | error
he${PWD:+${PWD}:}xx      | he/home:xx
he${XXX:-\$PWD:}xx       | he$PWD:xx
he${XXX:-\${PWD}z}xx     | he${PWDz}xx
안녕하세요               | 안녕하세요
안'녕'하세요             | 안녕하세요
안'녕하세요              | error
안녕\'하세요             | 안녕'하세요
안녕$PWD                 | 안녕/home
"안녕'$PWD'"             | 안녕'/home'
$KOREAN                  | 한국어
안녕$KOREAN              | 안녕한국어
${{aaa}                  | error
${aaa}}                  | }
${aaa                    | error
${{aaa                   | error
${aaa}}}                 | }}
"#;

#[test]
fn env_var_table() {
    let env = vars(&[
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]);
    let look = |n: &str| env.get(n).cloned();
    let lx = Lexer::new('\\');
    let mut checked = 0;
    for line in ENV_VAR_CASES.lines().filter(|l| !l.trim().is_empty()) {
        let (input, expected) = line.rsplit_once('|').unwrap();
        let (input, expected) = (input.trim(), expected.trim());
        let got = lx.process_word(input, &look);
        if expected == "error" {
            assert!(got.is_err(), "{input:?} should fail, gave {got:?}");
        } else {
            assert_eq!(got.as_deref(), Ok(expected), "input {input:?}");
        }
        checked += 1;
    }
    assert!(checked > 80);
}

#[test]
fn required_vars_report_their_message() {
    let lx = Lexer::new('\\');
    let set = vars(&[("VAR", "plain"), ("ARG", "x")]);
    let empty = vars(&[("VAR", ""), ("ARG", "x")]);
    let unset = vars(&[("ARG", "x")]);
    let w = "${VAR:?message here$ARG}";
    assert_eq!(
        lx.process_word(w, &|n| set.get(n).cloned()).unwrap(),
        "plain"
    );
    let e = lx.process_word(w, &|n| empty.get(n).cloned()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to process \"${VAR:?message here$ARG}\": VAR: message herex"
    );
    assert!(lx.process_word(w, &|n| unset.get(n).cloned()).is_err());
    let w = "${VAR?message here$ARG}";
    assert_eq!(lx.process_word(w, &|n| empty.get(n).cloned()).unwrap(), "");
    assert!(lx.process_word(w, &|n| unset.get(n).cloned()).is_err());
    let e = lx.process_word("${NOPE:?}", &|_| None).unwrap_err();
    assert_eq!(e.message, "NOPE: is not allowed to be unset");
}

#[test]
fn words_split_after_expansion() {
    let env = vars(&[
        ("hi", "hi"),
        ("space", "abc  def"),
        ("leading", "  ab c"),
        ("trailing", "ab c   "),
    ]);
    let look = |n: &str| env.get(n).cloned();
    let lx = Lexer::new('\\');
    let cases: &[(&str, &[&str])] = &[
        ("hello", &["hello"]),
        ("hello${hi}bye", &["hellohibye"]),
        ("hello${space}bye", &["helloabc", "defbye"]),
        ("hello\"${space}\"bye", &["helloabc  defbye"]),
        ("hello \"${space}\"bye", &["hello", "abc  defbye"]),
        ("hello${leading}def", &["hello", "ab", "cdef"]),
        ("hello\"${leading}\" def", &["hello  ab c", "def"]),
        ("hello${trailing}d", &["helloab", "c", "d"]),
        ("hello\"${trailing}\"d", &["helloab c   d"]),
        ("hello\"  \"", &["hello  "]),
        ("hello'${hi}'", &["hello${hi}"]),
        ("a \"\" b", &["a", "b"]),
        ("  a\\ b  c ", &["a b", "c"]),
    ];
    for (input, want) in cases {
        assert_eq!(lx.process_words(input, &look).unwrap(), *want, "{input:?}");
    }
}

#[test]
fn pattern_trimming() {
    let lx = Lexer::new('\\');
    let cases: &[(&str, &str, &str)] = &[
        ("${FOO#*x*y}", "xxyy", "y"),
        ("${FOO#*}", "xxyy", "xxyy"),
        ("${FOO##*x}", "xxyy", "yy"),
        ("${FOO#}", "xxyy", "xxyy"),
        ("${FOO%y*}", "xxyy", "xxy"),
        ("${FOO%%y*}", "xxyy", "xx"),
        ("${FOO%%\\**}", "xx**", "xx"),
        ("${FOO#?\\?}", "???y", "?y"),
        ("${FOO%%\\**\\*}", "a***yy*", "a"),
        ("${FOO%}", "xxyy", "xxyy"),
    ];
    for (input, value, want) in cases {
        let got = lx.process_word(input, &|n| (n == "FOO").then(|| value.to_string()));
        assert_eq!(got.as_deref(), Ok(*want), "{input}");
    }
}

#[test]
fn backtick_escape() {
    let lx = Lexer::new('`');
    let look = |n: &str| (n == "X").then(|| "v".to_string());
    assert_eq!(lx.process_word(r"C:\dir\$X", &look).unwrap(), r"C:\dir\v");
    assert_eq!(lx.process_word("a`$X", &look).unwrap(), "a$X");
    assert_eq!(lx.process_word("\"a`\"b\"", &look).unwrap(), "a\"b");
}

#[test]
fn skip_unset_keeps_references() {
    let lx = Lexer {
        skip_unset_env: true,
        ..Lexer::new('\\')
    };
    let look = |n: &str| (n == "A").then(|| "1".to_string());
    assert_eq!(
        lx.process_word("$A $B ${B} ${B:-x}", &look).unwrap(),
        "1 $B ${B} ${B:-x}"
    );
}

/// (input, variables, expected).
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn pattern_replacement() {
    let lx = Lexer::new('\\');
    let cases: &[Case<'_>] = &[
        (
            "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
            &[("FOO", "/foo*/*/*.txt"), ("NEEDLE", "\\*/")],
            "/foo.*/*.txt - /foo..*.txt",
        ),
        (
            "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
            &[("FOO", "/tmp/tmp/bar.txt"), ("NEEDLE", "/tmp")],
            "/tmp/bar.txt - /bar.txt",
        ),
        (
            "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
            &[
                ("FOO", "/a/foo/b/c.txt"),
                ("NEEDLE", "/?/"),
                ("REPLACEMENT", "/"),
            ],
            "/foo/b/c.txt - /foo/c.txt",
        ),
        (
            "${FOO/$NEEDLE/$REPLACEMENT}",
            &[
                ("FOO", "http://google.de"),
                ("NEEDLE", "http://"),
                ("REPLACEMENT", "https://"),
            ],
            "https://google.de",
        ),
        (
            "${FOO//\\//\\/}",
            &[("FOO", "/tmp/foo.txt")],
            "\\/tmp\\/foo.txt",
        ),
        ("${FOO/$BAR/ww}", &[("FOO", "xxyy"), ("BAR", "")], "wwxxyy"),
        ("${FOO///}", &[("FOO", "xxyy")], "xxyy"),
        ("${FOO///}", &[], ""),
    ];
    for (input, env, want) in cases {
        let env = vars(env);
        let got = lx.process_word(input, &|n| env.get(n).cloned());
        assert_eq!(got.as_deref(), Ok(*want), "{input}");
    }
    for input in ["${FOO//ww}", "${FOO//}"] {
        assert!(
            lx.process_word(input, &|_| Some("xxyy".into())).is_err(),
            "{input}"
        );
    }
}

#[test]
fn many_wildcards_stay_fast() {
    // A naive recursive matcher takes exponential time here.
    let lx = Lexer::new('\\');
    let value = "a".repeat(200);
    let word = format!("${{V#{}b}}", "*".repeat(30));
    let got = lx.process_word(&word, &|_| Some(value.clone())).unwrap();
    assert_eq!(got, value);
}
