/* SPDX-License-Identifier: MIT */
/* Address -> function, file and line, for crash reports, outside any
 * signal handler.
 *
 * elfutils' libdwfl reads the process's modules from /proc/self/maps, so
 * addresses in a PIE and in shared libraries map to the right file with
 * its load bias applied; the executable's .symtab names static functions
 * too (lwIP has many, dladdr() sees only exported symbols), and its DWARF
 * line tables give file:line (lwIP and lwipd are built with -g).
 *
 * Looking up allocates (libdw builds its tables lazily), and the reporter
 * looks up while other threads are frozen, perhaps inside the allocator.
 * So symbols_init() does the allocating part early, in normal context: it
 * reports the modules, loads every symbol table and the executable's line
 * tables, and primes the address -> compile-unit index with one lookup.
 * A later lookup in the executable then only reads those tables. A module
 * mapped after symbols_init() (dlopen) is found through dladdr(), by name
 * only.
 */
#define _GNU_SOURCE
#include "lwipd_config.h"
#include "crash/symbols.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

static struct {
    int tried;
    Dwfl *dwfl;
    Dwfl_Module *exe; /* the module holding this code */
} sy;

/* dwfl_getmodules() callback: load MOD's symbol table (every module) and
 * line tables (the executable's only: a libc with its debug info
 * installed would cost far more than it tells). */
static int warm_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
                       void *arg)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu = NULL;
    size_t nlines;

    (void)userdata, (void)name, (void)arg;
    dwfl_module_getsymtab(mod);
    if (mod != sy.exe || !dwfl_module_getdwarf(mod, &bias))
        return DWARF_CB_OK;
    while ((cu = dwfl_module_nextcu(mod, cu, &bias)) != NULL)
        dwfl_getsrclines(cu, &nlines);
    dwfl_module_getsrc(mod, start); /* builds the address -> CU index */
    return DWARF_CB_OK;
}

/* Report this process's modules and load what lookups need (see the note
 * at the top). Normal context, once, early (fatal_init()). Returns 0, or
 * -ENOENT when there is no module information (lookups then use dladdr()). */
int symbols_init(void)
{
    if (sy.tried)
        return sy.dwfl ? 0 : -ENOENT;
    sy.tried = 1;
    sy.dwfl = dwfl_begin(&callbacks);
    if (!sy.dwfl)
        return -ENOENT;
    if (dwfl_linux_proc_report(sy.dwfl, getpid()) != 0 ||
        dwfl_report_end(sy.dwfl, NULL, NULL) != 0) {
        dwfl_end(sy.dwfl);
        sy.dwfl = NULL;
        return -ENOENT;
    }
    sy.exe = dwfl_addrmodule(sy.dwfl, (Dwarf_Addr)(uintptr_t)symbols_init);
    dwfl_getmodules(sy.dwfl, warm_module, NULL, 0);
    return 0;
}

/* Name the function containing IP into NAME (LEN bytes) and its offset into
 * *OFF. Returns 0, or -ENOENT when unknown (NAME is then ""). */
int symbols_lookup(uintptr_t ip, char *name, size_t len, uintptr_t *off)
{
    Dwfl_Module *mod;
    const char *s = NULL;
    GElf_Off o = 0;
    GElf_Sym sym;
    Dl_info di;

    symbols_init();
    name[0] = '\0';
    *off = 0;
    mod = sy.dwfl ? dwfl_addrmodule(sy.dwfl, ip) : NULL;
    if (mod)
        s = dwfl_module_addrinfo(mod, ip, &o, &sym, NULL, NULL, NULL);
    if (s) {
        snprintf(name, len, "%s", s);
        *off = (uintptr_t)o;
        return 0;
    }
    if (dladdr((void *)ip, &di) && di.dli_sname) {
        snprintf(name, len, "%s", di.dli_sname);
        *off = ip - (uintptr_t)di.dli_saddr;
        return 0;
    }
    return -ENOENT;
}

/* PATH as a reader finds it in a source tree: under lwIP's tree
 * "lwip/src/core/mem.c", otherwise the last two elements ("crash/fatal.c"). */
static const char *short_path(const char *path)
{
    size_t n = strlen(LWIPD_LWIP_SRC);
    const char *p;
    int slashes = 0;

    if (strncmp(path, LWIPD_LWIP_SRC "/", n + 1) == 0)
        return NULL; /* the caller prefixes "lwip/" */
    for (p = path + strlen(path); p > path; p--)
        if (p[-1] == '/' && ++slashes == 2)
            break;
    return p;
}

/* The source line of IP into FILE (LEN bytes, a short path: see
 * short_path()) and *LINE. Returns 0, or -ENOENT when there is no line
 * information (FILE "" and *LINE 0 then). */
int symbols_source(uintptr_t ip, char *file, size_t len, int *line)
{
    Dwfl_Module *mod;
    Dwfl_Line *l = NULL;
    const char *src = NULL;
    const char *s;

    symbols_init();
    file[0] = '\0';
    *line = 0;
    mod = sy.dwfl ? dwfl_addrmodule(sy.dwfl, ip) : NULL;
    if (mod)
        l = dwfl_module_getsrc(mod, ip);
    if (l)
        src = dwfl_lineinfo(l, NULL, line, NULL, NULL, NULL);
    if (!src || *line <= 0) {
        *line = 0;
        return -ENOENT;
    }
    s = short_path(src);
    if (s)
        snprintf(file, len, "%s", s);
    else
        snprintf(file, len, "lwip/%s", src + strlen(LWIPD_LWIP_SRC) + 1);
    return 0;
}
