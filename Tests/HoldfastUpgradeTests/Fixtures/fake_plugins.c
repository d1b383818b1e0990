/* Fake Holdfast plugins in C for the loader tests; one flavour per -D flag. */
#if defined(FAKE_WRONG_ABI)
int holdfast_plugin_abi(void) { return 999; }
#elif defined(FAKE_WRONG_TAG)
int holdfast_plugin_abi(void) { return 1; }
const char *holdfast_plugin_build_tag(void) { return "holdfast-handler-api=1;swift=5.0"; }
#elif defined(FAKE_STALE_ABI_SYMBOL)
/* Like a plugin built against an older interface: it needs a versioned symbol the host no longer has. */
extern int holdfast_handler_abi_0(void);
int holdfast_plugin_abi(void) { return holdfast_handler_abi_0(); }
#else
/* An ordinary shared object with no Holdfast entry points. */
int not_a_plugin(void) { return 42; }
#endif
