// Keeps the addons loadable on older glibc than the one they are built with: a Coral Dev Board runs
// Mendel Linux (glibc 2.28), and a build against glibc 2.34 or newer would otherwise ask for the 2.34
// versions of dlopen & co. (moved into libc.so.6 then) and for __libc_single_threaded (2.32), and
// GCC 12's libstdc++ for condition_variable::wait at GLIBCXX_3.4.30. Each symbol is bound to the
// version every glibc (or libstdc++) of the architecture has, and __libc_single_threaded is the
// addon's own: 0, "threads may be running", which only costs libstdc++'s shortcut for
// single-threaded processes. Included first by every addon source (each addon is one source file).
#pragma once

#include <features.h>  // defines __GLIBC__

#if defined(__x86_64__)
#define CORAL_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define CORAL_GLIBC_BASE "GLIBC_2.17"
#endif

#ifdef CORAL_GLIBC_BASE
__asm__(".symver dlopen,dlopen@" CORAL_GLIBC_BASE);
__asm__(".symver dlsym,dlsym@" CORAL_GLIBC_BASE);
__asm__(".symver dlerror,dlerror@" CORAL_GLIBC_BASE);
__asm__(".symver dlclose,dlclose@" CORAL_GLIBC_BASE);
__asm__(".symver dladdr,dladdr@" CORAL_GLIBC_BASE);
__asm__(".symver pthread_once,pthread_once@" CORAL_GLIBC_BASE);
#endif

#if defined(__cplusplus) && defined(__GLIBC__)
__asm__(".symver _ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE,_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE@GLIBCXX_3.4.11");
extern "C" __attribute__((visibility("hidden"))) char __libc_single_threaded;
char __libc_single_threaded = 0;
#endif
