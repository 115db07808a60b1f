//! The serialised form of a [`Description`], as an AOT binary carries it.
//!
//! JSON, because the runtime already parses it and a descriptor stays readable with
//! `strings`: `{"functions":[{"name","file","params":[{"name","kind","type"}],"silent"}],
//! "spans":[file,start,end,…], "sources":[{"name","text"}], "handler":name|null}`.
//! Parameter kinds are written `n t b _ ?` with `L k` / `O k` prefixes for lists and
//! optionals (`L O n`). The span table is flat (three numbers per span) because a
//! program has one span per fallible operation and they add up.

use serde_json::{json, Map, Value as Json};

use super::{Description, FunctionInfo, ParamInfo, ParamKind, SourceText, SpanInfo};

/// Encode a description (the compiler calls this when building a binary).
pub fn encode(desc: &Description) -> String {
    let functions: Vec<Json> = desc
        .functions
        .iter()
        .map(|f| {
            let params: Vec<Json> = f
                .params
                .iter()
                .map(|p| json!({"name": p.name, "kind": kind_text(&p.kind), "type": p.type_text}))
                .collect();
            json!({"name": f.name, "file": f.file, "params": params, "silent": f.silent_result})
        })
        .collect();
    let spans: Vec<u32> = desc
        .spans
        .iter()
        .flat_map(|s| [s.file, s.start, s.end])
        .collect();
    let sources: Vec<Json> = desc
        .sources
        .iter()
        .map(|s| json!({"name": s.name, "text": s.text}))
        .collect();
    json!({
        "functions": functions,
        "spans": spans,
        "sources": sources,
        "handler": desc.handler,
    })
    .to_string()
}

/// Decode what [`encode`] wrote.
pub fn decode(text: &str) -> Result<Description, String> {
    let j: Json = serde_json::from_str(text).map_err(|e| format!("bad program descriptor: {e}"))?;
    let root = object(&j, "descriptor")?;
    let functions = array(root, "functions")?
        .iter()
        .map(decode_function)
        .collect::<Result<_, _>>()?;
    let flat = array(root, "spans")?
        .iter()
        .map(|n| number(n, "span"))
        .collect::<Result<Vec<u32>, _>>()?;
    if flat.len() % 3 != 0 {
        return Err("bad program descriptor: span table length".into());
    }
    let spans = flat
        .chunks(3)
        .map(|c| SpanInfo {
            file: c[0],
            start: c[1],
            end: c[2],
        })
        .collect();
    let sources = array(root, "sources")?
        .iter()
        .map(|s| {
            let s = object(s, "source")?;
            Ok(SourceText {
                name: string(s, "name")?,
                text: string(s, "text")?,
            })
        })
        .collect::<Result<_, String>>()?;
    let handler = match root.get("handler") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(_) => return Err("bad program descriptor: handler".into()),
    };
    Ok(Description {
        functions,
        spans,
        sources,
        handler,
    })
}

fn decode_function(j: &Json) -> Result<FunctionInfo, String> {
    let f = object(j, "function")?;
    let params = array(f, "params")?
        .iter()
        .map(|p| {
            let p = object(p, "parameter")?;
            Ok(ParamInfo {
                name: string(p, "name")?,
                kind: parse_kind(&string(p, "kind")?)?,
                type_text: string(p, "type")?,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(FunctionInfo {
        name: string(f, "name")?,
        file: number(f.get("file").unwrap_or(&Json::Null), "file")?,
        params,
        silent_result: f.get("silent") == Some(&Json::Bool(true)),
    })
}

/// `L O n` style text of a kind.
pub fn kind_text(k: &ParamKind) -> String {
    match k {
        ParamKind::Num => "n".into(),
        ParamKind::Text => "t".into(),
        ParamKind::Bool => "b".into(),
        ParamKind::Any => "_".into(),
        ParamKind::Unsupported => "?".into(),
        ParamKind::List(inner) => format!("L {}", kind_text(inner)),
        ParamKind::Opt(inner) => format!("O {}", kind_text(inner)),
    }
}

/// Inverse of [`kind_text`].
pub fn parse_kind(s: &str) -> Result<ParamKind, String> {
    Ok(match s {
        "n" => ParamKind::Num,
        "t" => ParamKind::Text,
        "b" => ParamKind::Bool,
        "_" => ParamKind::Any,
        "?" => ParamKind::Unsupported,
        _ => match s.split_once(' ') {
            Some(("L", rest)) => ParamKind::List(Box::new(parse_kind(rest)?)),
            Some(("O", rest)) => ParamKind::Opt(Box::new(parse_kind(rest)?)),
            _ => return Err(format!("bad program descriptor: parameter kind '{s}'")),
        },
    })
}

fn object<'a>(j: &'a Json, what: &str) -> Result<&'a Map<String, Json>, String> {
    j.as_object()
        .ok_or_else(|| format!("bad program descriptor: {what} is not an object"))
}

fn array<'a>(o: &'a Map<String, Json>, key: &str) -> Result<&'a Vec<Json>, String> {
    o.get(key)
        .and_then(Json::as_array)
        .ok_or_else(|| format!("bad program descriptor: missing list '{key}'"))
}

fn string(o: &Map<String, Json>, key: &str) -> Result<String, String> {
    o.get(key)
        .and_then(Json::as_str)
        .map(String::from)
        .ok_or_else(|| format!("bad program descriptor: missing text '{key}'"))
}

fn number(j: &Json, what: &str) -> Result<u32, String> {
    j.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("bad program descriptor: {what} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let desc = Description {
            functions: vec![FunctionInfo {
                name: "f".into(),
                file: 1,
                params: vec![ParamInfo {
                    name: "xs".into(),
                    kind: ParamKind::List(Box::new(ParamKind::Opt(Box::new(ParamKind::Num)))),
                    type_text: "L (O n)".into(),
                }],
                silent_result: true,
            }],
            spans: vec![
                SpanInfo {
                    file: 0,
                    start: 3,
                    end: 9,
                },
                SpanInfo {
                    file: 1,
                    start: 0,
                    end: 1,
                },
            ],
            sources: vec![SourceText {
                name: "a \"b\".ilo".into(),
                text: "f>n;1\n\u{e9}\t\\".into(),
            }],
            handler: Some("handler".into()),
        };
        assert_eq!(decode(&encode(&desc)), Ok(desc));
    }

    #[test]
    fn rejects_damage() {
        assert!(decode("{").is_err());
        assert!(decode(r#"{"functions":[],"spans":[1,2],"sources":[]}"#).is_err());
        assert!(parse_kind("L x").is_err());
        assert_eq!(
            decode(r#"{"functions":[],"spans":[],"sources":[]}"#).map(|d| d.handler),
            Ok(None)
        );
    }
}
