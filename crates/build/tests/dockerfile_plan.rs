//! Stage planning (meta ARGs, FROM expansion, stage references, --target,
//! unused build args), Docker's ARG/ENV scoping in a stage, and the classic
//! builder's history text.

use std::collections::BTreeMap;
use wharf_build::dockerfile::{parse, plan, Base, Instruction, PlanError, StageRef};

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn multistage_fixture_plan() {
    let df = parse(include_str!("dockerfiles/multistage.Dockerfile")).unwrap();
    let p = plan(&df, &args(&[]), None).unwrap();
    assert_eq!(p.stages[0].base, Base::Image("busybox:1.36".into()));
    assert_eq!(p.stages[1].base, Base::Scratch);
    assert_eq!(p.stages[2].base, Base::Stage(0));
    assert_eq!(p.target, 3);
    let last = &p.stages[3];
    assert_eq!(
        last.copy_from,
        vec![
            (23, StageRef::Stage(0)),
            (24, StageRef::Stage(1)),
            (25, StageRef::Stage(1)),
            (26, StageRef::Image("alpine:3.19".into())),
        ]
    );
    assert_eq!(last.deps, [0, 1]);
    // The "unused" stage is not built.
    assert_eq!(p.needed, [0, 1, 3]);
    assert!(!p.is_needed(2));
    assert_eq!(p.copy_from(3, 24), Some(&StageRef::Stage(1)));

    let p = plan(
        &df,
        &args(&[("BASE", "alpine"), ("VERSION", "3")]),
        Some("UNUSED"),
    )
    .unwrap();
    assert_eq!(p.stages[0].base, Base::Image("alpine:3".into()));
    assert_eq!(p.target, 2);
    assert_eq!(p.needed, [0, 2]);
}

#[test]
fn target_not_found() {
    let df = parse("FROM a AS one\nFROM b\n").unwrap();
    let e = plan(&df, &args(&[]), Some("two")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to reach build target two in Dockerfile"
    );
}

#[test]
fn no_stages() {
    let df = parse("ARG A=1\n").unwrap();
    let e = plan(&df, &args(&[]), None).unwrap_err();
    assert_eq!(e, PlanError::NoStages);
    assert_eq!(e.to_string(), "dockerfile contains no stages to build");
}

#[test]
fn duplicate_stage_names() {
    let df = parse("FROM a AS x\nFROM b AS X\n").unwrap();
    let e = plan(&df, &args(&[]), None).unwrap_err();
    assert_eq!(
        e,
        PlanError::DuplicateStageName {
            line: 2,
            name: "x".into()
        }
    );
}

#[test]
fn stage_references() {
    let df = parse("FROM a AS x\nCOPY --from=x / /\n").unwrap();
    assert!(matches!(
        plan(&df, &args(&[]), None),
        Err(PlanError::Circular { line: 2, .. })
    ));
    let df = parse("FROM a\nCOPY --from=0 / /\n").unwrap();
    let e = plan(&df, &args(&[]), None).unwrap_err();
    assert_eq!(e.to_string(), "dockerfile line 2: invalid stage index 0");
    let df = parse("FROM a\nFROM b\nCOPY --from=5 / /\n").unwrap();
    assert!(matches!(
        plan(&df, &args(&[]), None),
        Err(PlanError::InvalidStageIndex { .. })
    ));
    // A name defined only later is an image, like the classic builder.
    let df = parse("FROM later\nFROM x AS later\n").unwrap();
    let p = plan(&df, &args(&[]), None).unwrap();
    assert_eq!(p.stages[0].base, Base::Image("later".into()));
    assert_eq!(p.needed, [1]);
    // COPY --from expands with the stage's ARGs and ENVs.
    let df = parse("FROM a AS src\nFROM b\nARG FROM_STAGE=src\nCOPY --from=$FROM_STAGE / /\nENV IMG=busybox\nCOPY --from=${IMG} / /\n").unwrap();
    let p = plan(&df, &args(&[]), None).unwrap();
    assert_eq!(
        p.stages[1].copy_from,
        vec![
            (4, StageRef::Stage(0)),
            (6, StageRef::Image("busybox".into()))
        ]
    );
    let p = plan(&df, &args(&[("FROM_STAGE", "other")]), None).unwrap();
    assert_eq!(p.stages[1].copy_from[0].1, StageRef::Image("other".into()));
}

#[test]
fn meta_args_and_from_expansion() {
    let df = parse(
        "ARG REG=docker.io\nARG IMG=${REG}/library/busybox\nARG TAG\nFROM ${IMG}:${TAG:-latest}\n",
    )
    .unwrap();
    let p = plan(&df, &args(&[]), None).unwrap();
    assert_eq!(
        p.stages[0].base,
        Base::Image("docker.io/library/busybox:latest".into())
    );
    let p = plan(&df, &args(&[("REG", "localhost:5000"), ("TAG", "1")]), None).unwrap();
    assert_eq!(
        p.stages[0].base,
        Base::Image("localhost:5000/library/busybox:1".into())
    );
    // A meta ARG is not visible inside a stage until re-declared.
    let df = parse("ARG V=1\nFROM scratch\nENV A=$V\nARG V\nENV B=$V\n").unwrap();
    let p = plan(&df, &args(&[]), None).unwrap();
    let mut scope = p.scope(vec![]);
    let out: Vec<Instruction> = df.stages[0]
        .instructions
        .iter()
        .map(|n| scope.apply(&n.instruction, df.escape).unwrap())
        .collect();
    assert_eq!(out[0], Instruction::Env(vec![("A".into(), "".into())]));
    assert_eq!(out[2], Instruction::Env(vec![("B".into(), "1".into())]));
    // With an override the re-declared ARG takes it.
    let p = plan(&df, &args(&[("V", "2")]), None).unwrap();
    let mut scope = p.scope(vec![]);
    for n in &df.stages[0].instructions {
        scope.apply(&n.instruction, df.escape).unwrap();
    }
    assert_eq!(scope.lookup("B").as_deref(), Some("2"));
    // Blank base.
    let df = parse("ARG B\nFROM $B\n").unwrap();
    assert!(matches!(
        plan(&df, &args(&[]), None),
        Err(PlanError::BlankBase { line: 2, .. })
    ));
    let df = parse("ARG B=${X:?need X}\nFROM $B\n").unwrap();
    let e = plan(&df, &args(&[]), None).unwrap_err();
    assert!(matches!(e, PlanError::Expand { line: 1, .. }));
}

#[test]
fn unconsumed_build_args() {
    let df = parse("ARG META\nFROM a AS one\nARG USED_IN_ONE\nFROM b\nARG USED\n").unwrap();
    let given = args(&[
        ("META", "1"),
        ("USED", "1"),
        ("USED_IN_ONE", "1"),
        ("NOPE", "1"),
        ("ALSO_NOPE", "1"),
        ("http_proxy", "http://p"),
    ]);
    let p = plan(&df, &given, None).unwrap();
    assert_eq!(p.unconsumed, ["ALSO_NOPE", "NOPE", "USED_IN_ONE"]);
    assert_eq!(
        p.unconsumed_warning().unwrap(),
        "[Warning] One or more build-args [ALSO_NOPE NOPE USED_IN_ONE] were not consumed"
    );
    let p = plan(&df, &given, Some("one")).unwrap();
    assert_eq!(p.unconsumed, ["ALSO_NOPE", "NOPE", "USED"]);
}

#[test]
fn scope_precedence() {
    let df =
        parse("FROM a\nARG A=arg\nENV A=env\nARG B\nARG C=c\nENV D=$C-$B-$http_proxy\n").unwrap();
    let p = plan(
        &df,
        &args(&[("B", "cli"), ("http_proxy", "p"), ("Z", "z")]),
        None,
    )
    .unwrap();
    let mut scope = p.scope(vec![
        ("PATH".into(), "/bin".into()),
        ("A".into(), "img".into()),
    ]);
    for n in &df.stages[0].instructions {
        scope.apply(&n.instruction, df.escape).unwrap();
    }
    assert_eq!(scope.lookup("A").as_deref(), Some("env"));
    assert_eq!(scope.lookup("D").as_deref(), Some("c-cli-p"));
    assert_eq!(scope.lookup("Z"), None);
    // ENV replaces in place, keeping the base image's order.
    let env: Vec<_> = scope.env().iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(env, ["PATH", "A", "D"]);
    // What RUN sees besides ENV: args with values not shadowed by ENV.
    assert_eq!(
        scope.run_args(),
        vec![
            ("B".to_string(), "cli".to_string()),
            ("C".to_string(), "c".to_string()),
            ("http_proxy".to_string(), "p".to_string())
        ]
    );
    // RUN's history names declared args only, sorted, with their count.
    let argv: Vec<String> = vec!["/bin/sh".into(), "-c".into(), "make".into()];
    assert_eq!(scope.run_created_by(&argv), "|2 B=cli C=c /bin/sh -c make");
    let df = parse("FROM a\nRUN x\n").unwrap();
    let p = plan(&df, &args(&[("https_proxy", "p")]), None).unwrap();
    assert_eq!(p.scope(vec![]).run_created_by(&argv), "|0 /bin/sh -c make");
    let p = plan(&df, &args(&[]), None).unwrap();
    assert_eq!(p.scope(vec![]).run_created_by(&argv), "/bin/sh -c make");
}

#[test]
fn per_instruction_expansion_rules() {
    let look = |n: &str| match n {
        "X" => Some("val".to_string()),
        "PORTS" => Some("80 443/udp".to_string()),
        _ => None,
    };
    let df = parse(concat!(
        "FROM a\n",
        "RUN echo $X\n",
        "CMD echo $X\n",
        "ENTRYPOINT [\"$X\"]\n",
        "WORKDIR /$X\n",
        "USER $X:${X}\n",
        "EXPOSE $PORTS 22\n",
        "VOLUME [\"/$X\"]\n",
        "STOPSIGNAL $X\n",
        "COPY --chown=$X --from=$X a$X 'b' /d/$X/\n",
        "ONBUILD RUN $X\n",
        "MAINTAINER $X\n",
        "HEALTHCHECK CMD $X\n",
        "LABEL $X=$X\n",
    ))
    .unwrap();
    let got: Vec<Instruction> = df.stages[0]
        .instructions
        .iter()
        .map(|n| n.instruction.expand('\\', &look).unwrap())
        .collect();
    let orig: Vec<&Instruction> = df.stages[0]
        .instructions
        .iter()
        .map(|n| &n.instruction)
        .collect();
    for i in [0, 1, 2, 9, 10, 11] {
        assert_eq!(&got[i], orig[i], "{i} must not expand");
        assert!(!orig[i].expands());
    }
    assert_eq!(got[3], Instruction::Workdir("/val".into()));
    assert_eq!(got[4], Instruction::User("val:val".into()));
    // Docker sorts the raw words at parse time, then expands.
    assert_eq!(
        got[5],
        Instruction::Expose(vec!["80".into(), "443/udp".into(), "22".into()])
    );
    assert_eq!(got[6], Instruction::Volume(vec!["/val".into()]));
    assert_eq!(got[7], Instruction::StopSignal("val".into()));
    let Instruction::Copy(c) = &got[8] else {
        panic!()
    };
    assert_eq!(c.sources, ["aval", "b"]);
    assert_eq!(c.dest, "/d/val/");
    assert_eq!(c.chown.as_deref(), Some("val"));
    assert_eq!(c.from.as_deref(), Some("val"));
    assert_eq!(
        got[12],
        Instruction::Label(vec![("val".into(), "val".into())])
    );
    // Shell-form COPY splits on whitespace before quotes are seen, like
    // Docker: a quoted source with a space is two broken words.
    let df = parse("FROM a\nCOPY \"b c\" /d\n").unwrap();
    let e = df.stages[0].instructions[0]
        .instruction
        .expand('\\', &look)
        .unwrap_err();
    assert!(e.to_string().contains("unexpected end of statement"), "{e}");
}

#[test]
fn classic_builder_history_text() {
    let sh: Vec<String> = vec!["/bin/sh".into(), "-c".into()];
    let df = parse(concat!(
        "FROM a\n",
        "ENV A=b C=\"d e\"\n",
        "WORKDIR /x\n",
        "CMD [\"sh\"]\n",
        "CMD echo hi\n",
        "ENTRYPOINT [\"/docker-entrypoint.sh\"]\n",
        "EXPOSE 80\n",
        "LABEL maintainer=\"NGINX Docker Maintainers <docker-maint@nginx.com>\"\n",
        "STOPSIGNAL SIGQUIT\n",
        "VOLUME /var/lib/mysql /b\n",
        "HEALTHCHECK --interval=5m --timeout=3s CMD curl -f http://localhost/ || exit 1\n",
        "HEALTHCHECK NONE\n",
        "ARG V=1 W\n",
        "USER nobody\n",
        "SHELL [\"/bin/bash\", \"-c\"]\n",
        "ONBUILD ADD . /app/src\n",
        "MAINTAINER someone\n",
        "RUN x\n",
        "COPY a b\n",
        "HEALTHCHECK --retries=65 CMD [\"true\"]\n",
    ))
    .unwrap();
    let texts: Vec<Option<String>> = df.stages[0]
        .instructions
        .iter()
        .map(|n| {
            n.instruction
                .expand('\\', &|_| None)
                .unwrap()
                .created_by(&sh)
        })
        .collect();
    let want = [
        Some("/bin/sh -c #(nop)  ENV A=b C=d e"),
        Some("/bin/sh -c #(nop) WORKDIR /x"),
        Some("/bin/sh -c #(nop)  CMD [\"sh\"]"),
        Some("/bin/sh -c #(nop)  CMD [\"/bin/sh\" \"-c\" \"echo hi\"]"),
        Some("/bin/sh -c #(nop)  ENTRYPOINT [\"/docker-entrypoint.sh\"]"),
        Some("/bin/sh -c #(nop)  EXPOSE 80"),
        Some("/bin/sh -c #(nop)  LABEL maintainer=NGINX Docker Maintainers <docker-maint@nginx.com>"),
        Some("/bin/sh -c #(nop)  STOPSIGNAL SIGQUIT"),
        Some("/bin/sh -c #(nop)  VOLUME [/var/lib/mysql /b]"),
        Some("/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"curl -f http://localhost/ || exit 1\"] \"5m0s\" \"3s\" \"0s\" '\\x00'}"),
        Some("/bin/sh -c #(nop)  HEALTHCHECK &{[\"NONE\"] \"0s\" \"0s\" \"0s\" '\\x00'}"),
        Some("/bin/sh -c #(nop)  ARG V=1 W"),
        Some("/bin/sh -c #(nop)  USER nobody"),
        Some("/bin/sh -c #(nop)  SHELL [/bin/bash -c]"),
        Some("/bin/sh -c #(nop)  ONBUILD ADD . /app/src"),
        Some("/bin/sh -c #(nop)  MAINTAINER someone"),
        None,
        None,
        Some("/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD\" \"true\"] \"0s\" \"0s\" \"0s\" 'A'}"),
    ];
    for (got, want) in texts.iter().zip(want) {
        assert_eq!(got.as_deref(), want);
    }
    assert_eq!(
        wharf_build::dockerfile::nop_created_by(&sh, "COPY file:abc in /x ", true),
        "/bin/sh -c #(nop) COPY file:abc in /x "
    );
}
