//! `new-privileges` (templates/explain/new-privileges.md): adds
//! `no-new-privileges:true` to `security_opt`, or reports an explicit
//! `:false` without changing it.

use crate::finding::{pointer, Output};
use super::rule::{Files, Rule, ServiceCx};
use crate::compose::patch::{self, NewValue};
use crate::compose::service::{Origin, Service};
use crate::compose::tree::Kind;
use crate::compose::Ctx;
use crate::finding::Finding;

pub const NAME: &str = "new-privileges";
const OPT: &str = "no-new-privileges:true";

/// `Some(true)` for no-new-privileges in any spelling Docker accepts,
/// `Some(false)` for an explicit `:false`/`=false`, `None` for other options.
pub fn nnp_value(opt: &str) -> Option<bool> {
    let o: String = opt
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let rest = o.strip_prefix("no-new-privileges")?;
    match rest {
        "" | ":true" | "=true" | ":1" | "=1" => Some(true),
        ":false" | "=false" | ":0" | "=0" => Some(false),
        _ => None,
    }
}

pub const RULE: Rule = Rule {
    service: Some(|cx: &ServiceCx, out| check(cx.ctx, cx.svc, out)),
    ..Rule::new(NAME, Files::Compose)
};

pub fn check(ctx: &Ctx, svc: &Service, out: &mut Output) {
    let subject = format!("service {}", svc.name);
    let why = "`no-new-privileges:true`: no process can gain privileges through setuid binaries or file capabilities";
    // Compose appends the override file's list to this one.
    let overlaid = svc
        .overlay_strings("security_opt")
        .into_iter()
        .any(|o| nnp_value(o) == Some(true));
    if overlaid {
        return;
    }
    let Some((v, origin)) = svc.effective("security_opt") else {
        out.findings.push(svc.finding(
            NAME,
            format!(
                "service `{}` allows privilege escalation (no `no-new-privileges:true`)",
                svc.name
            ),
        ));
        if let Some(e) = ctx.add_entry(svc, "security_opt", &NewValue::Seq(vec![OPT.into()]), out) {
            out.edits.push(e);
            out.note(&subject, NAME, why)
                .brief("`no-new-privileges:true`", "")
                .shares_known("baseline");
        }
        return;
    };
    let items: Vec<&crate::compose::tree::Node> = match &v.kind {
        Kind::Seq { items, .. } => items.iter().map(|i| svc.doc.resolve(i)).collect(),
        _ => Vec::new(),
    };
    if items
        .iter()
        .any(|i| i.as_str().and_then(nnp_value) == Some(true))
    {
        return;
    }
    if let Some((idx, off)) = items
        .iter()
        .enumerate()
        .find(|(_, i)| i.as_str().and_then(nnp_value) == Some(false))
    {
        let (line, col) = svc.place(off, origin);
        out.findings.push(Finding::new(
            NAME,
            line,
            col,
            format!(
                "service `{}` sets `{}`",
                svc.name,
                off.as_str().unwrap_or_default()
            ),
        ));
        if origin == Origin::Own {
            out.edits.push(patch::replace_scalar(ctx.src, off, OPT));
            out.replaced.push(pointer(&[
                "services",
                svc.name,
                "security_opt",
                &idx.to_string(),
            ]));
            out.note(
                &subject,
                NAME,
                format!("`{}` becomes `{OPT}`", off.as_str().unwrap_or_default()),
            );
            return;
        }
    } else {
        out.findings.push(svc.finding_at(
            NAME,
            v,
            origin,
            format!(
                "service `{}` allows privilege escalation (`security_opt` lacks no-new-privileges)",
                svc.name
            ),
        ));
    }
    match (origin, &v.kind) {
        (Origin::Own, Kind::Seq { .. }) => {
            if let Some(e) = ctx.append_item(svc, v, OPT, out) {
                out.edits.push(e);
                out.note(&subject, NAME, why)
                .brief("`no-new-privileges:true`", "")
                .shares_known("baseline");
            }
        }
        (Origin::Own, _) if v.is_null() => {
            let opt = NewValue::Seq(vec![OPT.into()]);
            out.edits.extend(ctx.fill_null(svc, v, &opt));
            out.note(&subject, NAME, why)
                .brief("`no-new-privileges:true`", "")
                .shares_known("baseline");
        }
        (Origin::Own, _) => {
            out.review(
                &subject,
                NAME,
                "`security_opt` is not a list; add no-new-privileges:true by hand",
            );
        }
        (Origin::Merged(anchor), _) => {
            // A service's own list replaces the merged one: keep its entries.
            let mut list: Vec<String> = ctx
                .strings(v)
                .into_iter()
                .filter(|s| nnp_value(s).is_none())
                .collect();
            list.push(OPT.into());
            if let Some(e) = ctx.add_entry(svc, "security_opt", &NewValue::Seq(list), out) {
                out.edits.push(e);
                out.note(
                    &subject,
                    NAME,
                    format!("`security_opt` added to the service with the entries merged{} plus `{OPT}` (a service's own list replaces a merged one)", anchor),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::nnp_value;

    #[test]
    fn spellings() {
        for s in [
            "no-new-privileges",
            "no-new-privileges:true",
            "no-new-privileges=true",
            "NO-NEW-PRIVILEGES: true",
        ] {
            assert_eq!(nnp_value(s), Some(true), "{s}");
        }
        assert_eq!(nnp_value("no-new-privileges:false"), Some(false));
        assert_eq!(nnp_value("seccomp:unconfined"), None);
        assert_eq!(nnp_value("no-new-privilegesx"), None);
    }
}
