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

package e2e

// The kubectl plugin cmd/kubectl-petset, built from this tree and run as
// kubectl runs it: `kubectl petset rollout ...` with the plugin on PATH next
// to the cluster's kubectl.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1alpha1 "github.com/petsets/api/apps/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// plPlugin runs kubectl petset with the plugin built into a directory on
// PATH.
type plPlugin struct {
	// path is the PATH kubectl runs with: the plugin's directory, then
	// _output/bin.
	path string
}

// plBuild builds cmd/kubectl-petset into a temporary directory.
func plBuild(t *testing.T) plPlugin {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "kubectl-petset"), "./cmd/kubectl-petset")
	build.Dir = cluster.Root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the plugin: %v\n%s", err, out)
	}
	return plPlugin{path: strings.Join([]string{dir, filepath.Join(cluster.Root, "_output", "bin"), os.Getenv("PATH")}, string(os.PathListSeparator))}
}

// run runs `kubectl petset rollout <args> -n ns --kubeconfig <admin>`
// (kubectl finds a plugin only by the words before the first flag) and
// returns its standard output and error.
func (p plPlugin) run(t *testing.T, ns string, timeout time.Duration, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args = append(append([]string{"petset", "rollout"}, args...), "-n", ns, "--kubeconfig", cluster.Env["KUBECONFIG"])
	cmd := exec.CommandContext(ctx, filepath.Join(cluster.Root, "_output", "bin", "kubectl"), args...)
	// kubectl looks plugins up in its PATH; the kubeconfig is the flag's.
	cmd.Env = append(os.Environ(), "PATH="+p.path, "KUBECONFIG=/nonexistent")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	t.Logf("kubectl %s (%v):\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	return out.String(), errOut.String(), err
}

// mustRun is run that fails the test when the command fails.
func (p plPlugin) mustRun(t *testing.T, ns string, timeout time.Duration, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := p.run(t, ns, timeout, args...)
	if err != nil {
		t.Fatalf("kubectl petset rollout %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout, stderr
}

// plLastLine returns the last non-empty line of out.
func plLastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// plPets returns the pets of web by name: UID and revision label.
func plPets(t *testing.T, ns string) map[string]*corev1.Pod {
	t.Helper()
	list, err := cluster.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: pcAppSelector})
	if err != nil {
		t.Fatalf("listing the pets: %v", err)
	}
	pets := map[string]*corev1.Pod{}
	for i := range list.Items {
		pets[list.Items[i].Name] = &list.Items[i]
	}
	return pets
}

func TestKubectlPetSetPlugin(t *testing.T) {
	plugin := plBuild(t)
	t.Run("RollingUpdate", func(t *testing.T) { plTestRollingUpdate(t, plugin) })
	t.Run("OnDelete", func(t *testing.T) { plTestOnDelete(t, plugin) })
}

// plTestRollingUpdate: restart replaces every pet and status follows it to
// the end; history lists the revisions; undo brings the earlier template
// back (and is skipped when it is already there); status gives up with a
// non-zero exit on a rollout that cannot finish.
func plTestRollingUpdate(t *testing.T, plugin plPlugin) {
	ns := cluster.CreateNamespace(t)
	apiCreateWeb(t, ns)
	pcKubectl(t, ns, "", "patch", "petset", pcSetName, "--type=merge",
		"-p", `{"spec":{"replicas":3,"updateStrategy":{"type":"RollingUpdate"}}}`)

	// status waits for the third pet.
	out, _ := plugin.mustRun(t, ns, 2*time.Minute, "status", pcSetName, "--timeout=90s")
	first := pcGetSet(t, ns).Status.UpdateRevision
	if want := fmt.Sprintf("petset rolling update complete 3 pets at revision %s...", first); plLastLine(out) != want {
		t.Fatalf("status printed\n%s\nwant a last line %q", out, want)
	}
	before := plPets(t, ns)

	// restart, with a change cause for history to show: the controller
	// copies the PetSet's to the revision it creates.
	pcKubectl(t, ns, "", "annotate", "petset", pcSetName, "kubernetes.io/change-cause=restart for the e2e test")
	out, errOut := plugin.mustRun(t, ns, time.Minute, "restart", pcSetName)
	if out != "petset.apps/web restarted\n" || errOut != "" {
		t.Errorf("restart printed %q and on standard error %q", out, errOut)
	}
	set := pcGetSet(t, ns)
	restartedAt := set.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"]
	if _, err := time.Parse(time.RFC3339, restartedAt); err != nil {
		t.Fatalf("template annotations %v: no RFC 3339 restartedAt", set.Spec.Template.Annotations)
	}
	out, _ = plugin.mustRun(t, ns, 2*time.Minute, "status", pcSetName, "--timeout=90s")
	second := pcGetSet(t, ns).Status.UpdateRevision
	if second == first {
		t.Fatalf("the restart made no new revision: %s", second)
	}
	if want := fmt.Sprintf("petset rolling update complete 3 pets at revision %s...", second); plLastLine(out) != want {
		t.Fatalf("status printed\n%s\nwant a last line %q", out, want)
	}
	// status returned once every pet was replaced and ready.
	after := plPets(t, ns)
	for _, name := range pcPetNames(0, 3) {
		pod, old := after[name], before[name]
		if pod == nil || old == nil || pod.UID == old.UID || pod.Labels[appsv1alpha1.ControllerRevisionHashLabel] != second ||
			pod.DeletionTimestamp != nil || !pcPodReady(pod) || pod.Annotations["kubectl.kubernetes.io/restartedAt"] != restartedAt {
			t.Errorf("pet %s after status returned: %s, want it replaced at revision %s and ready", name, plDescribe(pod), second)
		}
	}

	// history
	out, _ = plugin.mustRun(t, ns, time.Minute, "history", pcSetName)
	if want := "petset.apps/web\nREVISION  CHANGE-CAUSE\n1         <none>\n2         restart for the e2e test\n"; out != want {
		t.Errorf("history printed\n%s\nwant\n%s", out, want)
	}
	out, _ = plugin.mustRun(t, ns, time.Minute, "history", pcSetName, "--revision=2")
	pcExpectOutput(t, out, "petset.apps/web with revision #2\nPod Template:\n", "kubectl.kubernetes.io/restartedAt: "+restartedAt, pcImage)
	out, _ = plugin.mustRun(t, ns, time.Minute, "history", pcSetName, "--revision=1", "-o", "jsonpath={.spec.template.metadata.annotations}")
	if strings.Contains(out, "restartedAt") || !strings.Contains(out, appsv1alpha1.PetSetInitAnnotation) {
		t.Errorf("history --revision=1 -o jsonpath printed the template annotations %s", out)
	}

	// undo: back to revision 1, which the controller reuses as number 3.
	out, _ = plugin.mustRun(t, ns, time.Minute, "undo", pcSetName)
	if out != "petset.apps/web rolled back to revision 1\n" {
		t.Errorf("undo printed %q", out)
	}
	if _, ok := pcGetSet(t, ns).Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"]; ok {
		t.Errorf("the template still has restartedAt after the undo")
	}
	out, _ = plugin.mustRun(t, ns, 2*time.Minute, "status", pcSetName, "--timeout=90s")
	if want := fmt.Sprintf("petset rolling update complete 3 pets at revision %s...", first); plLastLine(out) != want {
		t.Fatalf("status after the undo printed\n%s\nwant a last line %q", out, want)
	}
	for name, pod := range plPets(t, ns) {
		if _, ok := pod.Annotations["kubectl.kubernetes.io/restartedAt"]; ok || pod.Labels[appsv1alpha1.ControllerRevisionHashLabel] != first {
			t.Errorf("pet %s after the undo: %s, want revision %s without restartedAt", name, plDescribe(pod), first)
		}
	}
	out, _ = plugin.mustRun(t, ns, time.Minute, "history", pcSetName)
	if want := "petset.apps/web\nREVISION  CHANGE-CAUSE\n2         restart for the e2e test\n3         <none>\n"; out != want {
		t.Errorf("history after the undo printed\n%s\nwant\n%s", out, want)
	}
	out, _ = plugin.mustRun(t, ns, time.Minute, "undo", pcSetName, "--to-revision=3")
	if out != "petset.apps/web skipped rollback (current template already matches revision 3)\n" {
		t.Errorf("undo to the current revision printed %q", out)
	}

	// A template no node can run: the new web-2 stays Pending.
	pcKubectl(t, ns, "", "patch", "petset", pcSetName, "--type=merge",
		"-p", `{"spec":{"template":{"spec":{"nodeSelector":{"e2e.petsets.io/no-such-node":"true"}}}}}`)
	start := time.Now()
	out, errOut, err := plugin.run(t, ns, time.Minute, "status", pcSetName, "--timeout=20s")
	elapsed := time.Since(start)
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("status of a stuck rollout: %v, want exit code 1", err)
	}
	wantErr := `error: timed out after 20s waiting for the rollout of petset "web": Waiting for 1 pets to be ready` + "\n"
	if errOut != wantErr || plLastLine(out) != "Waiting for 1 pets to be ready..." {
		t.Errorf("status of a stuck rollout printed\n%s\nand on standard error %q, want %q", out, errOut, wantErr)
	}
	if elapsed < 20*time.Second || elapsed > 40*time.Second {
		t.Errorf("status gave up after %s, want 20s", elapsed)
	}
	stuck := plPets(t, ns)[pcPetName(2)]
	if stuck == nil || stuck.Status.Phase != corev1.PodPending || stuck.Labels[appsv1alpha1.ControllerRevisionHashLabel] != pcGetSet(t, ns).Status.UpdateRevision {
		t.Errorf("web-2 is %s, want it Pending at the update revision", plDescribe(stuck))
	}
}

// plTestOnDelete: under OnDelete, restart says the pets change only when
// deleted, status reports the pets waiting to be deleted, and completes
// once they have been.
func plTestOnDelete(t *testing.T, plugin plPlugin) {
	ns := cluster.CreateNamespace(t)
	apiCreateWeb(t, ns)

	out, _ := plugin.mustRun(t, ns, time.Minute, "status", pcSetName, "--timeout=60s")
	if want := fmt.Sprintf("petset roll out complete: 2 pets at revision %s...", pcGetSet(t, ns).Status.UpdateRevision); plLastLine(out) != want {
		t.Errorf("status printed\n%s\nwant a last line %q", out, want)
	}
	before := plPets(t, ns)

	out, errOut := plugin.mustRun(t, ns, time.Minute, "restart", pcSetName)
	if out != "petset.apps/web restarted\n" || !strings.Contains(errOut, `petset "web" has updateStrategy OnDelete: its pets change only when they are deleted`) {
		t.Errorf("restart printed %q and on standard error %q", out, errOut)
	}
	update := pcWaitObserved(t, ns).Status.UpdateRevision

	out, errOut, err := plugin.run(t, ns, time.Minute, "status", pcSetName, "--timeout=5s")
	waiting := fmt.Sprintf("waiting for 2 pets to be deleted (OnDelete: web-1, web-0 run an older revision than %s)", update)
	if err == nil || plLastLine(out) != waiting+"..." || !strings.Contains(errOut, "timed out after 5s") || !strings.Contains(errOut, waiting) {
		t.Errorf("status under OnDelete: %v, printed\n%s\nand on standard error %q; want it waiting for the pets to be deleted", err, out, errOut)
	}
	// Nothing moved.
	for name, pod := range plPets(t, ns) {
		if old := before[name]; old == nil || pod.UID != old.UID {
			t.Errorf("pet %s was replaced under OnDelete without being deleted", name)
		}
	}

	pcKubectl(t, ns, "", "delete", "pod", pcPetName(1), pcPetName(0), "--wait=false")
	out, _ = plugin.mustRun(t, ns, 2*time.Minute, "status", pcSetName, "--timeout=90s")
	if want := fmt.Sprintf("petset roll out complete: 2 pets at revision %s...", update); plLastLine(out) != want {
		t.Errorf("status printed\n%s\nwant a last line %q", out, want)
	}
	for name, pod := range plPets(t, ns) {
		if old := before[name]; old == nil || pod.UID == old.UID || pod.Labels[appsv1alpha1.ControllerRevisionHashLabel] != update {
			t.Errorf("pet %s after it was deleted: %s, want it replaced at revision %s", name, plDescribe(pod), update)
		}
	}
}

// plDescribe says what a pet is, for failure messages.
func plDescribe(pod *corev1.Pod) string {
	if pod == nil {
		return "missing"
	}
	return fmt.Sprintf("uid=%s revision=%s phase=%s ready=%t terminating=%t", pcShortUID(pod.UID),
		pod.Labels[appsv1alpha1.ControllerRevisionHashLabel], pod.Status.Phase, pcPodReady(pod), pod.DeletionTimestamp != nil)
}
