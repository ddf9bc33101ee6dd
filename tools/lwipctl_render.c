/* SPDX-License-Identifier: MIT */
/* lwipctl's human-readable renderers. */
#include "lwipctl_render.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_scalar(const cJSON *v)
{
    if (cJSON_IsString(v))
        fputs(v->valuestring, stdout);
    else if (cJSON_IsBool(v))
        fputs(cJSON_IsTrue(v) ? "yes" : "no", stdout);
    else if (cJSON_IsNull(v))
        fputs("-", stdout);
    else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(long long)d)
            printf("%lld", (long long)d);
        else
            printf("%.3f", d);
    } else {
        char *s = cJSON_PrintUnformatted(v);
        fputs(s ? s : "?", stdout);
        free(s);
    }
}

static bool all_scalars(const cJSON *o)
{
    for (const cJSON *c = o->child; c; c = c->next)
        if (cJSON_IsObject(c) || cJSON_IsArray(c))
            return false;
    return true;
}

/* Human form: an object of scalars is one line "name: k=v k=v"; deeper
 * objects are sections. */
static void print_object(const cJSON *o, int depth)
{
    for (const cJSON *c = o->child; c; c = c->next) {
        if (depth == 0 && (strcmp(c->string, "ok") == 0 || strcmp(c->string, "id") == 0 ||
                           strcmp(c->string, "api") == 0))
            continue;
        printf("%*s%s:", depth * 2, "", c->string);
        if (cJSON_IsObject(c) && all_scalars(c) && c->child) {
            for (const cJSON *k = c->child; k; k = k->next) {
                printf(" %s=", k->string);
                print_scalar(k);
            }
            putchar('\n');
        } else if (cJSON_IsObject(c)) {
            putchar('\n');
            print_object(c, depth + 1);
        } else if (cJSON_IsArray(c) && c->child && cJSON_IsObject(c->child)) {
            putchar('\n');
            for (const cJSON *e = c->child; e; e = e->next) {
                printf("%*s-", depth * 2 + 2, "");
                if (cJSON_IsObject(e)) {
                    for (const cJSON *k = e->child; k; k = k->next) {
                        printf(" %s=", k->string);
                        print_scalar(k);
                    }
                } else {
                    putchar(' ');
                    print_scalar(e);
                }
                putchar('\n');
            }
        } else {
            putchar(' ');
            print_scalar(c);
            putchar('\n');
        }
    }
}

/* A response, as a person reads it: an object of scalars is one line
 * "name: k=v k=v", deeper objects are indented sections; "ok", "id" and
 * "api" are left out. */
void lwipctl_render_human(const cJSON *resp)
{
    print_object(resp, 0);
}

/* "help": one command a line, its name and what it does. */
void lwipctl_render_help(const cJSON *resp)
{
    const cJSON *cmds = cJSON_GetObjectItemCaseSensitive(resp, "commands");
    const cJSON *c;

    cJSON_ArrayForEach(c, cmds)
    {
        printf("  %-16s %s\n", c->string, cJSON_IsString(c) ? c->valuestring : "");
    }
}

/* A socket-table slot is in use when it has a netconn or any flag or
 * event count set. */
static bool slot_used(const cJSON *slot)
{
    for (const cJSON *k = slot->child; k; k = k->next) {
        if (strcmp(k->string, "fd") == 0)
            continue;
        if (cJSON_IsTrue(k) || (cJSON_IsNumber(k) && k->valuedouble != 0))
            return true;
    }
    return false;
}

/* "sockets" without --all: drop the unused slots from RESP's table and say
 * how many were left out. */
void lwipctl_render_sockets_used(cJSON *resp)
{
    cJSON *table = cJSON_GetObjectItemCaseSensitive(resp, "table");
    cJSON *e, *next;
    int total = 0, used = 0;

    if (!cJSON_IsArray(table))
        return;
    for (e = table->child; e; e = next) {
        next = e->next;
        total++;
        if (slot_used(e))
            used++;
        else
            cJSON_Delete(cJSON_DetachItemViaPointer(table, e));
    }
    char note[96];
    snprintf(note, sizeof(note), "%d of %d slots in use (--all shows every slot)", used, total);
    cJSON_AddStringToObject(resp, "slots", note);
}
