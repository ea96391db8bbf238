//go:build !linux

/*
Copyright The PetSet Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package integration

import "syscall"

// childProcAttr has nothing to add where the kernel cannot tie a child's
// life to its parent's; the tests' cleanups stop the servers.
func childProcAttr() *syscall.SysProcAttr {
	return nil
}

// processAlive cannot tell here: every process is taken to be alive, so that
// no directory of a running test is removed.
func processAlive(int) bool {
	return true
}
