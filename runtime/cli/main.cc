#include <cstdio>
int main(int argc, char** argv) { std::puts("robotni " ROBOTNI_VERSION); return 0; }
