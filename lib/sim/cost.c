// SPDX-License-Identifier: LGPL-2.1-only
/*
 * The one table of modelled costs. These are NOT measurements: the sim
 * multiplies its counters by them to give a "modeled" time, which is
 * always reported as such and never mixed with measured time. Cycles are
 * converted at 3 GHz. Sources: notes/xen-facts.md section 5 and
 * notes/xen-ioreq.md; where no number was found, the figure is an
 * assumption and says so.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "sim/model.h"

const struct sim_cost_row sim_cost_table[] = {
	{ "hypercalls", 420.0,
	  "~1.25k cycles per x86 hypercall on Xen (Dall et al., ISCA 2016, "
	  "as reported; table not read: unverified), xen-facts.md s5" },
	{ "p2m_entries", 50.0,
	  "assumption: one locked EPT/NPT leaf write incl. get_entry walk; "
	  "no published number (xen-facts.md s5)" },
	{ "splits", 2000.0,
	  "assumption: allocate a table page and write 512 entries; no "
	  "published number" },
	{ "tlb_flushes", 3000.0,
	  "assumption: INVEPT at next VM entry (no number found, "
	  "xen-facts.md s5, ~1 us) plus the flush's one synchronous "
	  "multicast IPI to the dirty CPUs (on_selected_cpus: its wait is "
	  "the slowest CPU's), ~VM-exit scale: ~2k cycles direct cost of an "
	  "exit (SplitX, xen-facts.md s5) plus delivery, ~2 us" },
	{ "ipis", 0.0,
	  "CPUs a flush interrupts, counted; not charged one by one: the "
	  "multicast is one wait, in tlb_flushes (xen-facts.md s6)" },
	{ "iommu_entries", 50.0,
	  "assumption: same as a p2m leaf write" },
	{ "iotlb_flushes", 1000.0,
	  "assumption: same as a TLB flush" },
	{ "pages_copied", 261.0,
	  "4 KiB at PCIe Gen3 x16 15.7 GB/s theoretical (xen-facts.md s5); "
	  "TTM eviction bandwidth not found" },
	{ "lock_acquisitions", 20.0,
	  "assumption: uncontended rwlock" },
	{ "ioreqs", 10000.0,
	  "assumption: event-channel round trip to a dom0 server on "
	  "hardware; the TCG rig measured 1.25 ms per emulated read, ~1e5x a "
	  "mapped read (xen-ioreq.md), which only ratios may be taken from" },
	{ "memory_type_changes", 1000000.0,
	  "assumption: memory_type_changed() in 4.17 invalidates the EMT of "
	  "the whole p2m (EPT misconfig exits follow) and does "
	  "flush_all(FLUSH_CACHE), WBINVD on every CPU; no number found, 1 ms "
	  "taken for a large cache (xen-facts.md s6)" },
};

const size_t sim_cost_table_len = sizeof(sim_cost_table) /
				  sizeof(sim_cost_table[0]);

/* Counter fields in the order of the table. */
static uint64_t *field(struct xgm_counters *c, const char *name)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "hypercalls", offsetof(struct xgm_counters, hypercalls) },
		{ "p2m_entries", offsetof(struct xgm_counters, p2m_entries) },
		{ "splits", offsetof(struct xgm_counters, splits) },
		{ "tlb_flushes", offsetof(struct xgm_counters, tlb_flushes) },
		{ "ipis", offsetof(struct xgm_counters, ipis) },
		{ "iommu_entries", offsetof(struct xgm_counters, iommu_entries) },
		{ "iotlb_flushes", offsetof(struct xgm_counters, iotlb_flushes) },
		{ "pages_copied", offsetof(struct xgm_counters, pages_copied) },
		{ "lock_acquisitions",
		  offsetof(struct xgm_counters, lock_acquisitions) },
		{ "ioreqs", offsetof(struct xgm_counters, ioreqs) },
		{ "memory_type_changes",
		  offsetof(struct xgm_counters, memory_type_changes) },
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!strcmp(fields[i].name, name))
			return (uint64_t *)((char *)c + fields[i].off);
	return NULL;
}

double sim_modeled_ns(const struct xgm_counters *c)
{
	struct xgm_counters copy = *c;
	double ns = 0;

	for (size_t i = 0; i < sim_cost_table_len; i++)
		ns += (double)*field(&copy, sim_cost_table[i].name) *
		      sim_cost_table[i].ns;
	return ns;
}

json_t *sim_cost_json(void)
{
	json_t *o = json_object(), *rows = json_array();

	if (!o || !rows) {
		json_decref(o);
		json_decref(rows);
		return NULL;
	}
	json_object_set_new(o, "label", json_string("modeled"));
	json_object_set_new(o, "unit", json_string("ns"));
	for (size_t i = 0; i < sim_cost_table_len; i++)
		json_array_append_new(rows, json_pack("{s:s, s:f, s:s}",
			"counter", sim_cost_table[i].name,
			"ns", sim_cost_table[i].ns,
			"source", sim_cost_table[i].source));
	json_object_set_new(o, "per_unit", rows);
	return o;
}

json_t *sim_counters_json(const struct xgm_counters *c)
{
	struct xgm_counters copy = *c;
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (size_t i = 0; i < sim_cost_table_len; i++)
		json_object_set_new(o, sim_cost_table[i].name,
				    json_integer((json_int_t)*field(
					    &copy, sim_cost_table[i].name)));
	return o;
}

int sim_counters_from_json(json_t *j, struct xgm_counters *c)
{
	memset(c, 0, sizeof(*c));
	if (!json_is_object(j))
		return -EBADMSG;
	for (size_t i = 0; i < sim_cost_table_len; i++) {
		json_t *v = json_object_get(j, sim_cost_table[i].name);

		if (!v)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return -EBADMSG;
		*field(c, sim_cost_table[i].name) =
			(uint64_t)json_integer_value(v);
	}
	return 0;
}

void sim_counters_sub(struct xgm_counters *dst, const struct xgm_counters *src)
{
	struct xgm_counters copy = *src;

	for (size_t i = 0; i < sim_cost_table_len; i++)
		*field(dst, sim_cost_table[i].name) -=
			*field(&copy, sim_cost_table[i].name);
}

void sim_counters_add(struct xgm_counters *dst, const struct xgm_counters *src)
{
	struct xgm_counters copy = *src;

	for (size_t i = 0; i < sim_cost_table_len; i++)
		*field(dst, sim_cost_table[i].name) +=
			*field(&copy, sim_cost_table[i].name);
}
