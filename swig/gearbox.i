/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* swig/gearbox.i - the one interface file shared by every language binding.
 *
 * Layout (as MapServer's mapscript and Subversion's bindings do it):
 *   swig/gearbox.i   this file: the module, the C API every language sees,
 *                    ownership annotations, what is not wrapped;
 *   swig/python.i    Python typemaps and trampolines (included below)
 *   swig/perl5.i     Perl typemaps and trampolines
 *   swig/php7.i      PHP typemaps and trampolines
 * Each language's idiomatic layer (bindings/<lang>/) builds the worker API of
 * DESIGN §5 on top of these flat gbx_* functions; it adapts, it does not
 * reimplement.  One gbx_err typemap per language turns a failing call into
 * the native exception class ERR_<NAME> of its code.
 *
 * Out parameters every language maps the same way (typemaps in the language
 * files): `TYPE **out` -> a handle the idiomatic layer frees with its
 * gbx_<type>_free; `char **out` -> a string; `json_t **out` -> native data;
 * `long long *out` (gbx_status_counter_add) -> a number; `(size_t *submitted,
 * double *next_due)` (gbx_jobmanager_run_due) -> two values.
 */
#if defined(SWIGPYTHON)
%module(package="gearbox") _gearbox
#elif defined(SWIGPERL)
%module "Gearbox::Core"
#elif defined(SWIGPHP)
%module gearbox
#endif

%{
#include "gearbox/gearbox.h"
%}

/* Language typemaps: gbx_err -> exceptions, json_t <-> native data,
 * out parameters -> return values, handler trampolines. */
#if defined(SWIGPYTHON)
%include "python.i"
#elif defined(SWIGPERL)
%include "perl5.i"
#elif defined(SWIGPHP)
%include "php7.i"
#endif

/* GCC attributes in the headers (printf format checks) mean nothing to SWIG. */
#define __attribute__(x)

/* printf-style and callback-taking functions are not callable from other
 * languages; each language file offers its own entry points instead. */
%ignore gbx_error_set;
%ignore gbx_error_setv;
%ignore gbx_log;
%ignore gbx_log_set_callback;
%ignore gbx_log_to_file;
%ignore gbx_worker_register;
%ignore gbx_worker_set_hooks;
%ignore gbx_worker_run_until_signal;
%ignore gbx_response_set_status_maker;
%ignore gbx_error;
/* (argc, argv) is C's; the bindings pass theirs as a list to gbx_config_path_from_args. */
%ignore gbx_config_path_from_argv;

%include "gearbox/error.h"
%include "gearbox/log.h"
%include "gearbox/json.h"
%include "gearbox/id.h"
%include "gearbox/config.h"
%include "gearbox/uri.h"
%include "gearbox/schema.h"
%include "gearbox/envelope.h"
%include "gearbox/store.h"
%include "gearbox/state.h"
%include "gearbox/status.h"
%include "gearbox/response.h"
%include "gearbox/job.h"
%include "gearbox/jobmanager.h"
%include "gearbox/worker.h"
%include "gearbox/agents.h"
%include "gearbox/stopwatch.h"
%include "gearbox/scoreboard.h"
