//! Parser tests for the tricky parts of Dockerfile syntax: directives,
//! continuations, JSON vs shell form, flags, heredocs, ENV/LABEL forms,
//! line numbers and Docker's error messages.

use wharf_build::dockerfile::{parse, CopyArgs, Healthcheck, Instruction, ParseError, ShellOrExec};

fn instrs(text: &str) -> Vec<Instruction> {
    let df = parse(text).unwrap();
    df.stages
        .iter()
        .flat_map(|s| s.instructions.iter().map(|n| n.instruction.clone()))
        .collect()
}

fn only(text: &str) -> Instruction {
    let v = instrs(&format!("FROM scratch\n{text}"));
    assert_eq!(v.len(), 1, "{v:?}");
    v.into_iter().next().unwrap()
}

fn err(text: &str) -> ParseError {
    parse(text).unwrap_err()
}

fn shell(s: &str) -> ShellOrExec {
    ShellOrExec::Shell(s.into())
}

fn exec(v: &[&str]) -> ShellOrExec {
    ShellOrExec::Exec(v.iter().map(|s| s.to_string()).collect())
}

#[test]
fn windows_escape_directive_with_crlf() {
    let df = parse(include_str!("dockerfiles/windows-escape.Dockerfile")).unwrap();
    assert_eq!(df.escape, '`');
    let st = &df.stages[0];
    assert_eq!(st.base, "mcr.microsoft.com/windows/servercore");
    assert_eq!(st.line, 3);
    let n = &st.instructions;
    // A backslash at the end of a line is not a continuation here.
    match &n[0].instruction {
        Instruction::Copy(c) => {
            assert_eq!(c.sources, ["testfile.txt"]);
            assert_eq!(c.dest, "c:\\");
        }
        i => panic!("{i:?}"),
    }
    match &n[1].instruction {
        Instruction::Run(r) => assert_eq!(r.cmd, shell("dir c:\\     && echo done")),
        i => panic!("{i:?}"),
    }
    assert_eq!((n[1].line, n[1].end_line), (5, 6));
    assert_eq!(n[2].instruction, Instruction::Workdir("c:\\app".into()));
    assert_eq!(n[2].line, 7);
}

#[test]
fn directives_only_at_the_top() {
    let df = parse(
        "# Escape = `\n# SYNTAX=docker/dockerfile:1.4\n# check=skip=all\nFROM x\nRUN a `\n b",
    )
    .unwrap();
    assert_eq!(df.escape, '`');
    assert_eq!(df.syntax.as_deref(), Some("docker/dockerfile:1.4"));
    // After a blank line, a comment or an instruction, `# escape=` is a comment.
    for text in [
        "\n# escape=`\nFROM x\nRUN a `\n",
        "# hello\n# escape=`\nFROM x\nRUN a `\n",
        "# unknown=1\n# escape=`\nFROM x\nRUN a `\n",
    ] {
        let df = parse(text).unwrap();
        assert_eq!(df.escape, '\\', "{text:?}");
    }
    let e = err("# escape=\\\n# escape=`\nFROM x\n");
    assert_eq!(
        e.to_string(),
        "dockerfile parse error on line 2: only one escape parser directive can be used"
    );
    let e = err("# escape=x\nFROM x\n");
    assert_eq!(e.line(), 1);
    assert!(e
        .to_string()
        .contains("invalid escape token 'x' does not match ` or \\"));
}

#[test]
fn continuations_skip_comments_and_empty_lines() {
    let df = parse(
        "FROM x\nRUN echo a \\\n# comment\n   # indented comment\n\n  b \\\n\n c\nRUN next\n",
    )
    .unwrap();
    let n = &df.stages[0].instructions;
    assert_eq!(
        n[0].instruction,
        Instruction::Run(run(shell("echo a   b  c")))
    );
    assert_eq!((n[0].line, n[0].end_line), (2, 8));
    assert_eq!(n[1].line, 9);
    assert_eq!(df.warnings.len(), 1);
    assert!(df.warnings[0].starts_with("Empty continuation line found in: RUN echo a"));
}

fn run(cmd: ShellOrExec) -> wharf_build::dockerfile::Run {
    wharf_build::dockerfile::Run {
        cmd,
        heredocs: vec![],
        mounts: vec![],
        network: None,
        security: None,
    }
}

#[test]
fn escaped_escape_is_not_a_continuation() {
    let v = instrs("FROM x\nRUN echo \\\\\nRUN b\n");
    assert_eq!(v[0], Instruction::Run(run(shell("echo \\\\"))));
    assert_eq!(v.len(), 2);
    // A lone escape on a line continues too; trailing blanks after it are fine.
    let v = instrs("FROM x\nRUN a \\  \t\n\\\nb\n");
    assert_eq!(v[0], Instruction::Run(run(shell("a b"))));
}

#[test]
fn inline_hash_is_not_a_comment() {
    assert_eq!(
        only("RUN echo hi # not a comment"),
        Instruction::Run(run(shell("echo hi # not a comment")))
    );
}

#[test]
fn json_and_shell_forms() {
    assert_eq!(
        only(r#"CMD ["a", "b c"]"#),
        Instruction::Cmd(exec(&["a", "b c"]))
    );
    assert_eq!(only("CMD ['a']"), Instruction::Cmd(shell("['a']")));
    // Not valid JSON: Docker falls back to the shell form.
    assert_eq!(
        only(r#"CMD ["a" "b"]"#),
        Instruction::Cmd(shell(r#"["a" "b"]"#))
    );
    assert_eq!(only(r#"CMD ["a",]"#), Instruction::Cmd(shell(r#"["a",]"#)));
    assert_eq!(only("ENTRYPOINT []"), Instruction::Entrypoint(exec(&[])));
    assert_eq!(
        only(r#"RUN [ "sh", "-c", "echo \"x\"" ]  "#),
        Instruction::Run(run(exec(&["sh", "-c", "echo \"x\""])))
    );
    let e = err("FROM x\nRUN [\"a\", 1]\n");
    assert_eq!(
        e.to_string(),
        "dockerfile parse error on line 2: when using JSON array syntax, arrays must be comprised of strings only"
    );
    assert_eq!(
        only(r#"SHELL ["/bin/bash", "-o", "pipefail", "-c"]"#),
        Instruction::Shell(vec![
            "/bin/bash".into(),
            "-o".into(),
            "pipefail".into(),
            "-c".into()
        ])
    );
    let e = err("FROM x\nSHELL /bin/bash -c\n");
    assert!(e
        .to_string()
        .ends_with("SHELL requires the arguments to be in JSON form"));
    assert_eq!(
        only(r#"VOLUME ["/a", "/b"]"#),
        Instruction::Volume(vec!["/a".into(), "/b".into()])
    );
    assert_eq!(
        only("VOLUME /a  /b"),
        Instruction::Volume(vec!["/a".into(), "/b".into()])
    );
    match only(r#"COPY ["a b", "c d", "/dst dir/"]"#) {
        Instruction::Copy(c) => {
            assert_eq!(c.sources, ["a b", "c d"]);
            assert_eq!(c.dest, "/dst dir/");
            assert!(c.json);
        }
        i => panic!("{i:?}"),
    }
}

#[test]
fn instructions_are_case_insensitive() {
    let df = parse("from busybox as Base\nrun true\nCoPy a b\n").unwrap();
    assert_eq!(df.stages[0].name.as_deref(), Some("base"));
    assert!(matches!(
        df.stages[0].instructions[0].instruction,
        Instruction::Run(_)
    ));
    assert!(matches!(
        df.stages[0].instructions[1].instruction,
        Instruction::Copy(_)
    ));
}

#[test]
fn copy_flags() {
    let i = only("COPY --from=build --chown=1:2 --chmod=0755 --link a b /dst/");
    assert_eq!(
        i,
        Instruction::Copy(CopyArgs {
            sources: vec!["a".into(), "b".into()],
            dest: "/dst/".into(),
            from: Some("build".into()),
            chown: Some("1:2".into()),
            chmod: Some("0755".into()),
            link: true,
            ..CopyArgs::default()
        })
    );
    match only("ADD --checksum=sha256:abc --keep-git-dir=true --link=false https://x/y.tar /") {
        Instruction::Add(c) => {
            assert_eq!(c.checksum.as_deref(), Some("sha256:abc"));
            assert!(c.keep_git_dir);
            assert!(!c.link);
            assert_eq!(c.sources, ["https://x/y.tar"]);
        }
        i => panic!("{i:?}"),
    }
    match only("RUN --mount=type=cache,target=/c --mount=type=tmpfs,target=/t --network=none make")
    {
        Instruction::Run(r) => {
            assert_eq!(r.mounts.len(), 2);
            assert_eq!(r.network.as_deref(), Some("none"));
            assert_eq!(r.flags_used(), ["mount", "network"]);
            assert_eq!(r.cmd, shell("make"));
        }
        i => panic!("{i:?}"),
    }
}

#[test]
fn bad_flags_name_the_line() {
    let e = err("FROM x\n\nCOPY --frm=a b c\n");
    assert_eq!(
        e,
        ParseError::UnknownFlag {
            line: 3,
            flag: "frm".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "dockerfile parse error on line 3: unknown flag: frm"
    );
    assert_eq!(err("FROM x\nADD --from=a b c\n").line(), 2);
    assert!(err("FROM x\nCOPY --from a b\n")
        .to_string()
        .contains("missing a value on flag: from"));
    assert!(err("FROM x\nCOPY --from=a --from=b c d\n")
        .to_string()
        .contains("duplicate flag"));
    assert!(err("FROM x\nCOPY --link=maybe a b\n")
        .to_string()
        .contains("expecting boolean"));
    assert!(err("FROM x\nENV --x=1 A=b\n")
        .to_string()
        .contains("unknown flag: x"));
    assert!(err("FROM --plat=x y\n")
        .to_string()
        .contains("unknown flag: plat"));
}

#[test]
fn unknown_instruction() {
    let e = err("FROM x\nRUN a\nFOO bar\n");
    assert_eq!(
        e.to_string(),
        "dockerfile parse error on line 3: unknown instruction: FOO"
    );
    assert_eq!(e.line(), 3);
    let e = err("FROM x\nrun a \\\n b\ncopyy a b\n");
    assert_eq!(
        e,
        ParseError::UnknownInstruction {
            line: 4,
            instruction: "copyy".into()
        }
    );
}

#[test]
fn structural_errors() {
    assert_eq!(
        err("RUN true\n").to_string(),
        "dockerfile parse error on line 1: no build stage in current context"
    );
    assert!(err("# only a comment\n\n")
        .to_string()
        .contains("file with no instructions"));
    assert!(err("").to_string().contains("file with no instructions"));
    assert!(err("FROM a b\n")
        .to_string()
        .contains("FROM requires either one or three arguments"));
    assert!(err("FROM a AS 1x\n")
        .to_string()
        .contains("invalid name for build stage: \"1x\""));
    assert!(err("FROM x\nCOPY onlyone\n")
        .to_string()
        .contains("COPY requires at least two arguments"));
    assert!(err("FROM x\nWORKDIR\n")
        .to_string()
        .contains("WORKDIR requires exactly one argument"));
    assert!(err("FROM x\nEXPOSE\n")
        .to_string()
        .contains("EXPOSE requires at least one argument"));
    assert!(err("FROM x\nARG\n")
        .to_string()
        .contains("ARG requires at least one argument"));
    assert!(err("FROM x\nARG =v\n")
        .to_string()
        .contains("ARG names can not be blank"));
}

#[test]
fn env_forms_keep_raw_values() {
    assert_eq!(
        only("ENV A b  c"),
        Instruction::Env(vec![("A".into(), "b  c".into())])
    );
    assert_eq!(
        only(r#"ENV A=1 B="x y" C=z\ w D="" E"#.trim_end_matches(" E")),
        Instruction::Env(vec![
            ("A".into(), "1".into()),
            ("B".into(), "\"x y\"".into()),
            ("C".into(), "z\\ w".into()),
            ("D".into(), "\"\"".into()),
        ])
    );
    let e = err("FROM x\nENV A=1 B\n");
    assert!(e
        .to_string()
        .contains("Syntax error - can't find = in \"B\". Must be of the form: name=value"));
    assert!(err("FROM x\nENV A\n")
        .to_string()
        .contains("ENV must have two arguments"));
    assert!(err("FROM x\nENV =x\n")
        .to_string()
        .contains("ENV names can not be blank"));
    // Expansion removes the quotes and escapes.
    let env = only(r#"ENV A=1 B="x y" C=z\ w D="" E='$A'"#);
    let look = |n: &str| (n == "A").then(|| "9".to_string());
    assert_eq!(
        env.expand('\\', &look).unwrap(),
        Instruction::Env(vec![
            ("A".into(), "1".into()),
            ("B".into(), "x y".into()),
            ("C".into(), "z w".into()),
            ("D".into(), "".into()),
            ("E".into(), "$A".into()),
        ])
    );
}

#[test]
fn label_quoting() {
    let l = only(
        r#"LABEL "com.example.vendor"="ACME Inc" version=1.0 description="a \"quoted\" word" \
      multi.line="one \
two""#,
    );
    let l = l.expand('\\', &|_| None).unwrap();
    assert_eq!(
        l,
        Instruction::Label(vec![
            ("com.example.vendor".into(), "ACME Inc".into()),
            ("version".into(), "1.0".into()),
            ("description".into(), "a \"quoted\" word".into()),
            ("multi.line".into(), "one two".into()),
        ])
    );
    assert_eq!(
        only("LABEL maintainer someone <a@b.c>")
            .expand('\\', &|_| None)
            .unwrap(),
        Instruction::Label(vec![("maintainer".into(), "someone <a@b.c>".into())])
    );
}

#[test]
fn arg_forms() {
    let df = parse("ARG A\nARG B=1 C=\"x y\" D=\nFROM x\nARG E\n").unwrap();
    assert_eq!(df.meta_args.len(), 2);
    assert_eq!(
        df.meta_args[0].instruction,
        Instruction::Arg(vec![("A".into(), None)])
    );
    assert_eq!(
        df.meta_args[1].instruction,
        Instruction::Arg(vec![
            ("B".into(), Some("1".into())),
            ("C".into(), Some("\"x y\"".into())),
            ("D".into(), Some("".into())),
        ])
    );
    assert_eq!(
        df.stages[0].instructions[0].instruction,
        Instruction::Arg(vec![("E".into(), None)])
    );
}

#[test]
fn heredocs() {
    let df = parse(include_str!("dockerfiles/heredoc.Dockerfile")).unwrap();
    let n = &df.stages[0].instructions;
    let Instruction::Run(r) = &n[0].instruction else {
        panic!()
    };
    assert_eq!(r.cmd, shell("<<EOT"));
    assert_eq!(r.heredocs.len(), 1);
    assert_eq!(r.heredocs[0].name, "EOT");
    assert_eq!(r.heredocs[0].content, "set -e\necho \"hello from $HOME\"\n");
    assert!(r.heredocs[0].expand);
    assert_eq!((n[0].line, n[0].end_line), (2, 5));

    let Instruction::Run(r) = &n[1].instruction else {
        panic!()
    };
    assert_eq!(r.cmd, shell("<<-\"SCRIPT\" cat > /greeting"));
    let h = &r.heredocs[0];
    assert_eq!(h.name, "SCRIPT");
    assert!(h.chomp);
    assert!(!h.expand);
    assert_eq!(h.content, "indented ${NOT_EXPANDED}\ntwice\n");

    let Instruction::Copy(c) = &n[2].instruction else {
        panic!()
    };
    assert!(c.sources.is_empty());
    assert_eq!(c.dest, "/files/");
    assert_eq!(c.heredocs.len(), 2);
    assert_eq!(c.heredocs[0].name, "one.txt");
    assert_eq!(c.heredocs[0].content, "first $A\n");
    assert!(c.heredocs[0].expand);
    assert_eq!(c.heredocs[1].name, "two.txt");
    assert!(!c.heredocs[1].expand);
    // Expansion touches only the unquoted heredoc, and keeps its quotes.
    let look = |n: &str| (n == "A").then(|| "\"a\"".to_string());
    let Instruction::Copy(c) = n[2].instruction.expand('\\', &look).unwrap() else {
        panic!()
    };
    assert_eq!(c.heredocs[0].content, "first \"a\"\n");
    assert_eq!(c.heredocs[1].content, "second $A\n");

    assert_eq!(
        n[3].instruction,
        Instruction::Run(run(shell("echo after heredocs")))
    );
    assert_eq!(n[3].line, 15);
}

#[test]
fn heredoc_details() {
    let v = instrs("FROM x\nRUN 3<<A cat /dev/fd/3 && cat <<B\na\nA\nb\nB\n");
    let Instruction::Run(r) = &v[0] else { panic!() };
    assert_eq!(r.heredocs.len(), 2);
    assert_eq!(r.heredocs[0].fd, Some(3));
    assert_eq!(r.heredocs[0].content, "a\n");
    assert_eq!(r.heredocs[1].content, "b\n");
    // JSON form: no heredoc, the next line is an instruction.
    let v = instrs("FROM x\nRUN [\"cat\", \"<<EOF\"]\nRUN b\n");
    assert_eq!(v.len(), 2);
    // `<<` not starting a heredoc word.
    let v = instrs("FROM x\nRUN echo $((1<<2))\nRUN b\n");
    assert_eq!(v.len(), 2);
    // CRLF bodies: the terminator matches without its \r.
    let v = instrs("FROM x\r\nRUN <<E\r\nhi\r\nE\r\nRUN b\r\n");
    let Instruction::Run(r) = &v[0] else { panic!() };
    assert_eq!(r.heredocs[0].content, "hi\r\n");
    assert_eq!(v.len(), 2);
    let e = err("FROM x\nRUN <<EOF\nnever ends\n");
    assert_eq!(
        e.to_string(),
        "dockerfile parse error on line 2: unterminated heredoc"
    );
    let e = err("FROM x\nCOPY a <<EOF\nx\nEOF\n");
    assert!(e
        .to_string()
        .contains("COPY cannot accept a heredoc as a destination"));
    // Heredocs in an ONBUILD trigger.
    let v = instrs("FROM x\nONBUILD RUN <<EOF\necho hi\nEOF\n");
    let Instruction::Onbuild {
        trigger,
        expression,
    } = &v[0]
    else {
        panic!()
    };
    assert_eq!(expression, "RUN <<EOF\necho hi\nEOF");
    let Instruction::Run(r) = trigger.as_ref() else {
        panic!()
    };
    assert_eq!(r.heredocs[0].content, "echo hi\n");
}

#[test]
fn healthcheck() {
    match only("HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=5s --start-interval=1s --retries=4 CMD [\"curl\", \"-f\", \"x\"]") {
        Instruction::Healthcheck(Healthcheck::Cmd(h)) => {
            assert_eq!(h.test_argv(), ["CMD", "curl", "-f", "x"]);
            assert_eq!(h.interval, Some(std::time::Duration::from_secs(90)));
            assert_eq!(h.timeout, Some(std::time::Duration::from_millis(500)));
            assert_eq!(h.start_period, Some(std::time::Duration::from_secs(5)));
            assert_eq!(h.start_interval, Some(std::time::Duration::from_secs(1)));
            assert_eq!(h.retries, Some(4));
        }
        i => panic!("{i:?}"),
    }
    match only("HEALTHCHECK CMD curl -f http://x/ || exit 1") {
        Instruction::Healthcheck(Healthcheck::Cmd(h)) => {
            assert_eq!(h.test_argv(), ["CMD-SHELL", "curl -f http://x/ || exit 1"]);
            assert_eq!(h.interval, None);
        }
        i => panic!("{i:?}"),
    }
    assert_eq!(
        only("HEALTHCHECK none"),
        Instruction::Healthcheck(Healthcheck::None)
    );
    let cases = [
        ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
        ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
        (
            "HEALTHCHECK FOO x",
            "Unknown type \"FOO\" in HEALTHCHECK (try CMD)",
        ),
        (
            "HEALTHCHECK --interval=10 CMD x",
            "time: missing unit in duration \"10\"",
        ),
        (
            "HEALTHCHECK --interval=1us CMD x",
            "Interval \"interval\" cannot be less than 1ms",
        ),
        (
            "HEALTHCHECK --retries=-1 CMD x",
            "--retries cannot be negative (-1)",
        ),
        (
            "HEALTHCHECK --retries=x CMD x",
            "strconv.ParseInt: parsing \"x\": invalid syntax",
        ),
        ("HEALTHCHECK --bogus=1 CMD x", "unknown flag: bogus"),
    ];
    for (line, msg) in cases {
        let e = err(&format!("FROM x\n{line}\n"));
        assert_eq!(
            e.to_string(),
            format!("dockerfile parse error on line 2: {msg}"),
            "{line}"
        );
    }
}

#[test]
fn onbuild() {
    match only("ONBUILD   COPY . /app") {
        Instruction::Onbuild {
            trigger,
            expression,
        } => {
            assert_eq!(expression, "COPY . /app");
            assert!(matches!(*trigger, Instruction::Copy(_)));
        }
        i => panic!("{i:?}"),
    }
    assert!(err("FROM x\nONBUILD ONBUILD RUN x\n")
        .to_string()
        .contains("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"));
    assert!(err("FROM x\nonbuild from y\n")
        .to_string()
        .contains("FROM isn't allowed as an ONBUILD trigger"));
    assert!(err("FROM x\nONBUILD MAINTAINER me\n")
        .to_string()
        .contains("MAINTAINER isn't allowed as an ONBUILD trigger"));
    assert_eq!(err("FROM x\nONBUILD BOGUS y\n").line(), 2);
}

#[test]
fn simple_instructions() {
    assert_eq!(
        only("EXPOSE 8080/tcp 80 443/udp"),
        Instruction::Expose(vec!["443/udp".into(), "80".into(), "8080/tcp".into()])
    );
    assert_eq!(only("USER app:app"), Instruction::User("app:app".into()));
    assert_eq!(only("WORKDIR /a b"), Instruction::Workdir("/a b".into()));
    assert_eq!(
        only("STOPSIGNAL SIGTERM"),
        Instruction::StopSignal("SIGTERM".into())
    );
    assert_eq!(
        only("MAINTAINER Jo <jo@x>"),
        Instruction::Maintainer("Jo <jo@x>".into())
    );
    let df = parse("FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n").unwrap();
    assert_eq!(df.stages[0].platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(df.stages[0].base, "golang:1.22");
}

#[test]
fn multistage_fixture() {
    let df = parse(include_str!("dockerfiles/multistage.Dockerfile")).unwrap();
    assert_eq!(df.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(df.meta_args.len(), 2);
    assert_eq!(df.meta_args[0].line, 2);
    let names: Vec<_> = df.stages.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(
        names,
        [Some("builder"), Some("assets"), Some("unused"), None]
    );
    assert_eq!(df.stages[0].base, "${BASE}:${VERSION}");
    let b = &df.stages[0].instructions;
    assert_eq!(b[1].line, 7);
    assert_eq!(
        b[1].instruction,
        Instruction::Env(vec![
            ("OUT".into(), "/out".into()),
            ("NAME".into(), "\"wharf demo\"".into())
        ])
    );
    assert_eq!(b[2].line, 10);
    assert_eq!(b[2].end_line, 12);
    assert_eq!(
        b[2].original,
        "RUN mkdir -p $OUT   && echo \"$NAME $VERSION\" > $OUT/version"
    );
    assert_eq!(df.stages[3].instructions.len(), 8);
    assert_eq!(df.instruction_count(), 2 + 4 + 3 + 1 + 1 + 8);
}

#[test]
fn byte_order_mark_is_ignored() {
    let df = parse("\u{feff}# escape=`\nFROM x\n").unwrap();
    assert_eq!(df.escape, '`');
}

#[test]
fn line_numbers_across_blank_and_continued_lines() {
    let df = parse(include_str!("dockerfiles/line-numbers.Dockerfile")).unwrap();
    let st = &df.stages[0];
    assert_eq!(st.line, 5);
    let lines: Vec<(usize, usize)> = st
        .instructions
        .iter()
        .map(|n| (n.line, n.end_line))
        .collect();
    assert_eq!(lines, [(11, 12), (17, 31)]);
    assert_eq!(
        st.instructions[0].instruction,
        Instruction::Env(vec![("GOPATH".into(), "/go".into())])
    );
    assert_eq!(df.warnings.len(), 1);
}

#[test]
fn empty_continuation_warnings() {
    let df = parse(
        "\nFROM alpine:3.6\n\nRUN valid \\\n    continuation\n\nRUN something \\\n\n    following \\\n\n    more\n\nRUN another \\\n\n    thing\n\nRUN non-indented \\\n# this is a comment\n   after-comment\n\nRUN indented \\\n    # this is an indented comment\n    comment\n\t",
    )
    .unwrap();
    assert_eq!(df.warnings.len(), 2);
    assert!(df.warnings[0]
        .contains("Empty continuation line found in: RUN something     following     more"));
    assert!(df.warnings[1].contains("RUN another     thing"));
    let n = &df.stages[0].instructions;
    assert_eq!(
        n[3].instruction,
        Instruction::Run(run(shell("non-indented    after-comment")))
    );
    assert_eq!(
        n[4].instruction,
        Instruction::Run(run(shell("indented     comment")))
    );
}

#[test]
fn negative_cases() {
    // BuildKit's testfiles-negative.
    assert!(err("FROM busybox\nENV PATH\n")
        .to_string()
        .contains("ENV must have two arguments"));
    assert!(err("FROM busybox\nCMD [ \"echo\", [ \"nested json\" ] ]\n")
        .to_string()
        .contains("arrays must be comprised of strings only"));
}
