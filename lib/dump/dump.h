/* SPDX-License-Identifier: LGPL-2.1-only */
/* The dump document's identity, shared by the writer and the reader. */
#ifndef XGM_DUMP_H
#define XGM_DUMP_H

#define XGM_DUMP_SCHEMA "xgpumap-dump"
#define XGM_DUMP_VERSION 1

#endif /* XGM_DUMP_H */
