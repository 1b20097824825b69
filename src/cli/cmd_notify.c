/* cmd_notify.c - treatylog notify: message types, example documents to edit, and checking a
 * notification document against the message schemas (schemas/, docs/formats.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "treatylog/note.h"
#include "treatylog/notification.h"
#include "treatylog/schema.h"

static const char notify_usage[] =
    "usage: treatylog notify types [--schemas DIR]\n"
    "       treatylog notify template TYPE [--text] [--schemas DIR]\n"
    "       treatylog notify check FILE [--schemas DIR]";

/* --schemas, else $TREATYLOG_SCHEMAS, else the source tree's schemas/ (set at build time). */
static int load_schemas(const char *cmd, const char *arg, tl_schemas **out)
{
    tl_diag d = {{0}};
    tl_err e = cli_load_schemas(arg, out, &d);
    if (e != TL_OK)
        return cli_fail(cmd, e, &d);
    return 0;
}

static int notify_types(const tl_schemas *s)
{
    for (size_t i = 0; i < tl_schemas_ntypes(s); i++) {
        const tl_msgtype *t = tl_schemas_type_at(s, i);
        if (printf("%s\n", t->name) < 0)
            return EXIT_USAGE;
    }
    return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}

static int notify_template(const tl_schemas *s, const char *type, bool text_form)
{
    char *text = NULL;
    size_t len = 0;
    tl_diag d = {{0}};
    tl_err e = tl_notification_template(&text, &len, s, type, &d);
    if (e == TL_ERR_NOTFOUND)
        return cli_usage("notify", "%s (see 'treatylog notify types')", d.msg);
    if (e != TL_OK)
        return cli_fail("notify", e, &d);
    bool ok;
    if (text_form) {
        ok = cli_write_stdout(text, len);
    } else {
        /* Pretty JSON to edit; `notify check` and `submit` accept it as it is. */
        tl_notification n;
        e = tl_notification_parse(&n, s, text, len, &d);
        if (e != TL_OK) {
            free(text);
            return cli_fail("notify", e, &d);
        }
        char *pretty = json_dumps(n.doc, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        ok = pretty && printf("%s\n", pretty) >= 0 && fflush(stdout) == 0;
        free(pretty);
        tl_notification_free(&n);
    }
    free(text);
    if (!ok) {
        fprintf(stderr, "treatylog notify: cannot write the template\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* FILE is a notification text ("treatylog/notification/v1" line, JSON line), the same signed
 * (signatures are not verified here), or a JSON object that may span lines. */
static int notify_check(const tl_schemas *s, const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    tl_diag d = {{0}};
    tl_err e = cli_read_file(path, 4 * (size_t)TL_NOTIFICATION_MAX, &buf, &len, &d);
    if (e != TL_OK)
        return cli_fail("notify", e, &d);
    const char *text = (const char *)buf;
    size_t tlen = len;
    const char *kind = "";
    tl_notification n = {0};
    char *canon = NULL;
    if (len >= TL_NOTIFICATION_HEADER_LEN &&
        memcmp(buf, TL_NOTIFICATION_HEADER, TL_NOTIFICATION_HEADER_LEN) == 0) {
        tl_note *note = NULL;
        if (memmem(buf, len, "\n\n", 2) != NULL) {
            note = malloc(sizeof *note);
            if (!note)
                e = tl_fail(&d, TL_ERR_NOMEM, "reading %s", path);
            else
                e = tl_note_parse(note, (const char *)buf, len, &d);
            if (e == TL_OK) {
                text = note->text;
                tlen = note->text_len;
                kind = " (signed note; signatures not checked)";
            } else {
                e = tl_diag_prefix(&d, e, "signed note");
            }
        }
        if (e == TL_OK)
            e = tl_notification_parse(&n, s, text, tlen, &d);
        free(note);
    } else {
        e = tl_notification_from_json(&canon, &tlen, s, (const char *)buf, len, &d);
        if (e == TL_OK)
            e = tl_notification_parse(&n, s, canon, tlen, &d);
        kind = " (JSON; signed as one line)";
    }
    free(buf);
    free(canon);
    if (e != TL_OK) {
        fprintf(stderr, "treatylog notify: %s: %s\n", path, d.msg[0] ? d.msg : tl_strerror(e));
        return cli_exit_code(e);
    }
    printf("OK: %s from %s serial %llu%s\n", n.type, n.from, (unsigned long long)n.serial, kind);
    tl_notification_free(&n);
    return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}

int cmd_notify(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("notify", "%s", notify_usage);
    const char *sub = argv[1];
    const char *schemas_arg = NULL;
    bool text_form = false;
    const cli_opt opts[] = {{"schemas", &schemas_arg, NULL}, {"text", NULL, &text_form}};
    const char *pos[1];
    size_t npos = 0;
    int rc = cli_parse("notify", argc - 1, argv + 1, opts, 2, pos, 1, &npos);
    if (rc)
        return rc;
    bool types = strcmp(sub, "types") == 0;
    bool tmpl = strcmp(sub, "template") == 0;
    bool check = strcmp(sub, "check") == 0;
    if ((!types && !tmpl && !check) || npos != (types ? 0u : 1u) || (text_form && !tmpl))
        return cli_usage("notify", "%s", notify_usage);
    tl_schemas *s = NULL;
    rc = load_schemas("notify", schemas_arg, &s);
    if (rc)
        return rc;
    if (types)
        rc = notify_types(s);
    else if (tmpl)
        rc = notify_template(s, pos[0], text_form);
    else
        rc = notify_check(s, pos[0]);
    tl_schemas_free(s);
    return rc;
}
