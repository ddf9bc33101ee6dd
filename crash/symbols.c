/* SPDX-License-Identifier: MIT */
/* Address -> function name, for crash reports, outside any signal handler.
 *
 * The executable's own .symtab (read once from /proc/self/exe) names static
 * functions too - lwIP has many - which dladdr() cannot, since it only sees
 * exported symbols. Addresses in shared libraries fall back to dladdr().
 * Allocates: call it only from normal context (the crash reporter thread).
 */
#define _GNU_SOURCE
#include "crash/symbols.h"

#include <dlfcn.h>
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sym {
    uintptr_t start;
    uintptr_t size;
    const char *name;
};

static struct {
    int loaded;
    char *strtab;
    struct sym *syms;
    size_t nsyms;
    uintptr_t exe_base;
} tab;

static int cmp_sym(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

static int find_exe_base(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0') {
        *(uintptr_t *)arg = (uintptr_t)info->dlpi_addr;
        return 1;
    }
    return 0;
}

/* LEN bytes at OFF: 0, or -EIO (a short read counts as an error). */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
    return pread(fd, buf, len, off) == (ssize_t)len ? 0 : -EIO;
}

/* Load the executable's STT_FUNC symbols. Errors leave the table empty. */
static void load(void)
{
    Elf64_Ehdr eh;
    Elf64_Shdr *sh = NULL;
    Elf64_Sym *syms = NULL;
    int fd;

    tab.loaded = 1;
    dl_iterate_phdr(find_exe_base, &tab.exe_base);
    fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    if (read_at(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr))
        goto out;
    sh = calloc(eh.e_shnum, sizeof(*sh));
    if (!sh || read_at(fd, sh, eh.e_shnum * sizeof(*sh), (off_t)eh.e_shoff))
        goto out;
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh.e_shnum)
            continue;
        const Elf64_Shdr *str = &sh[sh[i].sh_link];
        size_t n = sh[i].sh_size / sizeof(Elf64_Sym);

        syms = malloc(sh[i].sh_size);
        tab.strtab = malloc(str->sh_size + 1);
        tab.syms = calloc(n, sizeof(*tab.syms));
        if (!syms || !tab.strtab || !tab.syms ||
            read_at(fd, syms, sh[i].sh_size, (off_t)sh[i].sh_offset) ||
            read_at(fd, tab.strtab, str->sh_size, (off_t)str->sh_offset))
            goto out;
        tab.strtab[str->sh_size] = '\0';
        for (size_t k = 0; k < n; k++) {
            if (ELF64_ST_TYPE(syms[k].st_info) != STT_FUNC || syms[k].st_value == 0 ||
                syms[k].st_name >= str->sh_size)
                continue;
            tab.syms[tab.nsyms++] =
                (struct sym){syms[k].st_value, syms[k].st_size, tab.strtab + syms[k].st_name};
        }
        qsort(tab.syms, tab.nsyms, sizeof(*tab.syms), cmp_sym);
        break;
    }
out:
    free(syms);
    free(sh);
    close(fd);
}

/* Name the function containing IP into NAME (LEN bytes) and its offset into
 * *OFF. Returns 0, or -ENOENT when unknown (NAME is then ""). */
int symbols_lookup(uintptr_t ip, char *name, size_t len, uintptr_t *off)
{
    Dl_info di;

    if (!tab.loaded)
        load();
    name[0] = '\0';
    *off = 0;
    if (tab.nsyms && ip >= tab.exe_base) {
        uintptr_t a = ip - tab.exe_base;
        size_t lo = 0, hi = tab.nsyms;

        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (tab.syms[mid].start <= a)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0) {
            const struct sym *s = &tab.syms[lo - 1];
            if (a < s->start + (s->size ? s->size : 1)) {
                snprintf(name, len, "%s", s->name);
                *off = a - s->start;
                return 0;
            }
        }
    }
    if (dladdr((void *)ip, &di) && di.dli_sname) {
        snprintf(name, len, "%s", di.dli_sname);
        *off = ip - (uintptr_t)di.dli_saddr;
        return 0;
    }
    return -ENOENT;
}
