//! Image config parsing and writing: a config as Docker 20.10's classic
//! builder writes it comes back byte for byte; unknown fields survive.

use wharf_image::config::{format_time, go_json, ImageConfig, RunConfig};
use wharf_image::digest::Digest;

const DIFF: &str = "sha256:3d24ee258efc3bfe4066a1a9fb83febf6dc0b1548dfe896161533668281c9f4f";

fn docker_config() -> String {
    let run = |cmd: &str, image: &str| {
        format!(
            concat!(
                r#"{{"Hostname":"","Domainname":"","User":"app","AttachStdin":false,"AttachStdout":false,"#,
                r#""AttachStderr":false,"ExposedPorts":{{"80/tcp":{{}}}},"Tty":false,"OpenStdin":false,"StdinOnce":false,"#,
                r#""Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","A=1 \u0026\u0026 2"],"#,
                r#""Cmd":{cmd},"Healthcheck":{{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Retries":3}},"#,
                r#""ArgsEscaped":true,"Image":"{image}","Volumes":{{"/data":{{}}}},"WorkingDir":"/srv","Entrypoint":null,"#,
                r#""OnBuild":null,"Labels":{{"a":"b","z":"\u003cy\u003e"}},"StopSignal":"SIGQUIT","Shell":["/bin/bash","-c"]}}"#
            ),
            cmd = cmd,
            image = image
        )
    };
    format!(
        concat!(
            r#"{{"architecture":"amd64","author":"me","config":{config},"container":"0123abcd","#,
            r#""container_config":{cc},"created":"2023-05-19T20:19:22.751398522Z","docker_version":"20.10.24","#,
            r#""history":[{{"created":"2023-05-19T20:19:22.642843898Z","created_by":"/bin/sh -c #(nop) ADD file:abc in / "}},"#,
            r#"{{"created":"2023-05-19T20:19:22.751398522Z","created_by":"/bin/sh -c #(nop)  CMD [\"sh\" \"-c\" \"a \u0026\u0026 b\"]","empty_layer":true}}],"#,
            r#""os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff}"]}},"variant":"v8"}}"#
        ),
        config = run(r#"["sh","-c","a \u0026\u0026 b"]"#, "sha256:5b0c"),
        cc = run(
            r##"["/bin/sh","-c","#(nop) ","CMD [\"sh\" \"-c\" \"a \u0026\u0026 b\"]"]"##,
            "sha256:5b0c"
        ),
        diff = DIFF
    )
}

#[test]
fn docker_config_round_trips_byte_for_byte() {
    let text = docker_config();
    let cfg = ImageConfig::parse(text.as_bytes()).unwrap();
    assert_eq!(cfg.architecture, "amd64");
    let run = cfg.config.as_ref().unwrap();
    assert_eq!(run.user, "app");
    assert_eq!(run.cmd.as_deref().unwrap(), ["sh", "-c", "a && b"]);
    assert_eq!(run.entrypoint, None);
    assert_eq!(run.healthcheck.as_ref().unwrap().retries, 3);
    assert!(run.exposed_ports.as_ref().unwrap().contains_key("80/tcp"));
    assert_eq!(cfg.diff_ids(), [DIFF.parse::<Digest>().unwrap()]);
    assert!(cfg.history[1].empty_layer);
    assert_eq!(String::from_utf8(cfg.to_json()).unwrap(), text);
    let t = cfg.created_time().unwrap().unwrap();
    assert_eq!(format_time(t), "2023-05-19T20:19:22.751398522Z");
}

#[test]
fn unknown_fields_survive() {
    let text = r#"{"moby.extra":{"b":[1,2],"a":null},"config":{"Cmd":"echo hi","Future":7,"Env":null},"rootfs":{"type":"layers"},"os":"linux"}"#;
    let cfg = ImageConfig::parse(text.as_bytes()).unwrap();
    assert_eq!(cfg.extra["moby.extra"]["b"][1], 2);
    let run = cfg.config.as_ref().unwrap();
    // A bare string is a command of one word, as Docker's StrSlice reads it.
    assert_eq!(run.cmd.as_deref().unwrap(), ["echo hi"]);
    assert_eq!(run.extra["Future"], 7);
    let again = ImageConfig::parse(&cfg.to_json()).unwrap();
    assert_eq!(again, cfg);
    let out = String::from_utf8(cfg.to_json()).unwrap();
    assert!(out.starts_with(r#"{"config":{"Hostname":"#), "{out}");
    assert!(
        out.contains(r#""moby.extra":{"a":null,"b":[1,2]}"#),
        "{out}"
    );
    assert!(
        out.ends_with(r#""os":"linux","rootfs":{"type":"layers"}}"#),
        "{out}"
    );
}

#[test]
fn empty_values_follow_docker_omitempty() {
    let cfg = ImageConfig {
        config: Some(RunConfig::default()),
        ..ImageConfig::default()
    };
    let out = String::from_utf8(cfg.to_json()).unwrap();
    assert_eq!(
        out,
        concat!(
            r#"{"config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"#,
            r#""AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"#,
            r#""Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"#,
            r#""rootfs":{"type":"layers"}}"#
        )
    );
    // Null lists in the input read as empty.
    let cfg = ImageConfig::parse(br#"{"history":null,"rootfs":null,"os.features":null}"#).unwrap();
    assert!(cfg.history.is_empty());
    assert_eq!(cfg.rootfs.kind, "layers");
}

#[test]
fn go_escaping() {
    assert_eq!(
        go_json("<a & b>\u{2028}\n\"\\"),
        r#""\u003ca \u0026 b\u003e\u2028\n\"\\""#
    );
    assert_eq!(
        go_json("\u{8}\u{c}\u{1}\t\r"),
        r#""\u0008\u000c\u0001\t\r""#
    );
    assert!(ImageConfig::parse(b"[1]").is_err());
    assert!(ImageConfig::parse(br#"{"rootfs":{"diff_ids":["sha256:bad"]}}"#).is_err());
}
